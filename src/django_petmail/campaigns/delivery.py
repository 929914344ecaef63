"""Sending a campaign's queued sends, and settling the campaign afterwards."""

from __future__ import annotations

from ..models import CampaignStatus, EmailCampaign
from ..sending.mailing import CampaignMailing
from ..sending.worker import DrainResult, drain
from .lifecycle import maybe_complete, pause


def deliver(campaign_id: int, *, budget_seconds: float | None = None) -> DrainResult:
    """Drain the campaign's pending sends; complete it when nothing is left, pause it on a
    fatal error (the account or configuration is broken: retrying would not help)."""
    campaign = EmailCampaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return DrainResult(stopped=True)
    result = drain(CampaignMailing(campaign), budget_seconds=budget_seconds)
    campaign.refresh_from_db()
    if result.fatal and campaign.status == CampaignStatus.SENDING:
        pause(campaign)
    elif result.done:
        maybe_complete(campaign)
    return result
