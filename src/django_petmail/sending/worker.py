"""Drain a campaign: claim a batch, dispatch it, repeat — until nothing is left, the
campaign stops sending, or the time budget runs out (then the caller re-queues)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..conf import petmail_settings
from ..models import CampaignStatus, EmailCampaign
from .claims import claim_batch, worker_id
from .dispatch import CampaignRenderer, dispatch_batch


@dataclass
class DrainResult:
    batches: int = 0
    sent: int = 0
    failed: int = 0
    bounced: int = 0
    skipped: int = 0
    retried: int = 0
    more: bool = False  # stopped with work left (budget, or transient failures to retry)
    fatal: str = ""


def drain(campaign_id: int, *, budget_seconds: float | None = None) -> DrainResult:
    from ..campaigns import maybe_complete

    result = DrainResult()
    budget = float(
        budget_seconds if budget_seconds is not None else petmail_settings.SEND_TIME_BUDGET
    )
    deadline = time.monotonic() + budget
    claimer = worker_id()
    size = int(petmail_settings.BATCH_SIZE)
    renderer: CampaignRenderer | None = None
    while True:
        campaign = EmailCampaign.objects.select_related("template").filter(pk=campaign_id).first()
        if campaign is None or campaign.status != CampaignStatus.SENDING:
            return result
        ids = claim_batch(campaign_id, size, claimer)
        if not ids:
            maybe_complete(campaign)
            return result
        renderer = renderer or CampaignRenderer(campaign)
        batch = dispatch_batch(campaign, ids, renderer)
        result.batches += 1
        result.sent += batch.sent
        result.failed += batch.failed
        result.bounced += batch.bounced
        result.skipped += batch.skipped
        result.retried += len(batch.retry)
        if batch.fatal:
            from ..campaigns import pause

            result.fatal = batch.fatal
            campaign.refresh_from_db()
            if campaign.status == CampaignStatus.SENDING:
                pause(campaign)
            return result
        if batch.retry or time.monotonic() >= deadline:
            result.more = True
            return result
