"""The campaign lifecycle: draft → scheduled → sending ⇄ paused → sent, and cancelled.

Every transition is a conditional ``UPDATE … WHERE status = <expected>``: two admins (or a
beat tick and an admin) starting the same campaign start it once; the loser gets
:class:`~django_petmail.exceptions.InvalidTransition`. ``campaign_state_changed`` is sent
when the transition commits, and sending is announced (``sends_queued``) the same way: the
receivers that queue workers never act on a state that is rolled back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from .. import signals
from ..exceptions import InvalidTransition, RuleValidationError
from ..models import (
    CAMPAIGN_TRANSITIONS,
    SEND_UNFINISHED,
    SEND_WAITING,
    ABVariant,
    CampaignStatus,
    EmailCampaign,
    EmailSend,
    SendStatus,
)
from ..sending.ab import assign_cohort, decide, release_winner
from ..sending.fanout import fan_out
from .content import ensure_ready


def transition(campaign: EmailCampaign, target: str, **fields: Any) -> None:
    """Move ``campaign`` to ``target`` if the state machine allows it and nobody moved it
    first; refreshes the instance and sends ``campaign_state_changed``."""
    current, target = str(campaign.status), str(target)  # plain values in messages
    if target not in CAMPAIGN_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition("campaign", current, target)
    now = timezone.now()
    updated = EmailCampaign.objects.filter(pk=campaign.pk, status=current).update(
        status=target, updated_at=now, **fields
    )
    if not updated:
        campaign.refresh_from_db()
        raise InvalidTransition("campaign", campaign.status, target)
    campaign.refresh_from_db()
    signals.send_on_commit(
        signals.campaign_state_changed,
        EmailCampaign,
        campaign=campaign,
        previous=current,
        current=target,
    )


def schedule(campaign: EmailCampaign, when: datetime) -> None:
    """Schedule for ``when`` (must be in the future); the beat task starts it then."""
    if timezone.is_naive(when):
        raise ValidationError({"scheduled_at": ["Give a time zone-aware date and time."]})
    if when <= timezone.now():
        raise ValidationError({"scheduled_at": ["The scheduled time is in the past."]})
    ensure_ready(campaign)
    if campaign.status == CampaignStatus.SCHEDULED:
        EmailCampaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED).update(
            scheduled_at=when, updated_at=timezone.now()
        )
        campaign.refresh_from_db()
        return
    transition(campaign, CampaignStatus.SCHEDULED, scheduled_at=when)


def start(campaign: EmailCampaign, *, enqueue: bool = True) -> int:
    """Fan out and begin sending. Returns the number of recipients.

    The state change and the fan-out commit together: a campaign is never ``sending``
    without its sends, nor has sends while still a draft.
    """
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        # paused → sending is resume(): a second fan-out (and A/B cohort) must not happen
        raise InvalidTransition("campaign", campaign.status, CampaignStatus.SENDING.value)
    ensure_ready(campaign)
    try:
        with transaction.atomic():
            transition(campaign, CampaignStatus.SENDING, started_at=timezone.now())
            fan_out(campaign)
            count = EmailSend.objects.filter(campaign=campaign).count()
            EmailCampaign.objects.filter(pk=campaign.pk).update(recipient_count=count)
            if campaign.is_ab_test:
                assign_cohort(campaign)
    except RuleValidationError as exc:  # the segment changed since ensure_ready()
        campaign.refresh_from_db()
        raise ValidationError(
            {"segment": [gettext("The segment's rules are invalid: %(error)s") % {"error": exc}]}
        ) from exc
    campaign.refresh_from_db()
    if enqueue:
        enqueue_sending(campaign)
    return count


def pause(campaign: EmailCampaign, *, reason: str = "") -> None:
    """Stop claiming new batches; batches already claimed finish. ``reason`` is shown in
    the admin and the API (``paused_reason``; the reputation guard sets it)."""
    transition(campaign, CampaignStatus.PAUSED, paused_reason=reason)


def resume(campaign: EmailCampaign, *, enqueue: bool = True) -> None:
    if campaign.status != CampaignStatus.PAUSED:  # draft → sending is start(), with fan-out
        raise InvalidTransition("campaign", campaign.status, CampaignStatus.SENDING.value)
    transition(campaign, CampaignStatus.SENDING, paused_reason="")
    if enqueue:
        enqueue_sending(campaign)


def cancel(campaign: EmailCampaign) -> int:
    """Cancel a draft, scheduled or paused campaign; unsent sends become ``cancelled``."""
    with transaction.atomic():
        transition(campaign, CampaignStatus.CANCELLED, completed_at=timezone.now())
        return EmailSend.objects.filter(campaign=campaign, status__in=SEND_WAITING).update(
            status=SendStatus.CANCELLED, updated_at=timezone.now()
        )


def maybe_complete(campaign: EmailCampaign) -> bool:
    """Mark the campaign ``sent`` once nothing is pending, held or in flight."""
    if EmailSend.objects.filter(campaign=campaign, status__in=SEND_UNFINISHED).exists():
        return False
    updated = EmailCampaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
        status=CampaignStatus.SENT, completed_at=timezone.now(), updated_at=timezone.now()
    )
    if updated:
        campaign.refresh_from_db()
        signals.send_on_commit(
            signals.campaign_state_changed,
            EmailCampaign,
            campaign=campaign,
            previous=CampaignStatus.SENDING,
            current=CampaignStatus.SENT,
        )
    return bool(updated)


def set_winner(campaign: EmailCampaign, winner: str, *, enqueue: bool = True) -> int:
    """Override the A/B decision by hand (before the automatic one); releases the rest."""
    if winner not in ABVariant.values:
        raise ValidationError({"winner": ["Choose 'A' or 'B'."]})
    if (
        not campaign.is_ab_test
        or campaign.ab_winner
        or campaign.status not in (CampaignStatus.SENDING, CampaignStatus.PAUSED)
    ):
        raise InvalidTransition("A/B test", campaign.ab_winner or campaign.status, winner)
    result = decide(campaign) | {"winner": winner, "manual": True}
    released = release_winner(campaign, winner, result)
    if enqueue and campaign.status == CampaignStatus.SENDING:
        enqueue_sending(campaign)
    return released


def enqueue_sending(campaign: EmailCampaign) -> None:
    """Announce that the campaign has sends waiting (``sends_queued``), once the surrounding
    transaction commits; the package's receiver starts ``SEND_CONCURRENCY`` workers.

    A worker that started before the commit (an admin action, ``ATOMIC_REQUESTS``) would
    find the campaign still a draft, or its sends not there yet, and stop: the campaign
    would wait for ``resume_stalled_campaigns``. Outside a transaction this runs at once.
    """
    signals.send_on_commit(signals.sends_queued, EmailCampaign, pk=campaign.pk)
