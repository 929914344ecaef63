"""Watching campaigns: progress, what is due, stalled, or ready for its A/B decision."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from ..models import (
    SEND_UNFINISHED,
    SEND_WAITING,
    ABVariant,
    CampaignStatus,
    EmailCampaign,
    EmailSend,
    SendStatus,
)


def waiting_for_worker(campaign: EmailCampaign) -> datetime | None:
    """Since when a ``sending`` campaign has been waiting for a worker: none of its sends
    has moved since it started (one query); ``None`` when it is not waiting."""
    if campaign.status != CampaignStatus.SENDING or campaign.started_at is None:
        return None
    moved = (
        EmailSend.objects.filter(campaign=campaign, updated_at__gte=campaign.started_at)
        .exclude(status__in=SEND_WAITING)
        .exists()
    )
    return None if moved else campaign.started_at


def progress(campaign: EmailCampaign) -> dict[str, Any]:
    """Counts by state, the current rate (last minute) and an estimated finish."""
    by_status = dict(
        EmailSend.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("pk"))
    )
    now = timezone.now()
    recent = EmailSend.objects.filter(
        campaign=campaign, sent_at__gte=now - timedelta(minutes=1)
    ).count()
    remaining = sum(by_status.get(s, 0) for s in SEND_UNFINISHED)
    rate = recent / 60
    done = campaign.recipient_count - remaining
    return {
        "status": campaign.status,
        "recipients": campaign.recipient_count,
        "done": done,
        "remaining": remaining,
        "by_status": by_status,
        "percent": round(100 * done / campaign.recipient_count, 1)
        if campaign.recipient_count
        else 0.0,
        "rate_per_second": round(rate, 2),
        "eta": (now + timedelta(seconds=remaining / rate)).isoformat()
        if rate and remaining
        else None,
    }


def due_campaigns(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        EmailCampaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
        .order_by("scheduled_at")
        .values_list("pk", flat=True)
    )


def ab_tests_ready(now: datetime | None = None) -> list[int]:
    """Sending A/B campaigns past their wait window whose test cohort has been sent."""
    now = now or timezone.now()
    ids = []
    candidates = EmailCampaign.objects.filter(
        status=CampaignStatus.SENDING, is_ab_test=True, ab_winner=""
    ).annotate(
        open_cohort=Count(
            "sends",
            filter=Q(
                sends__ab_variant__in=ABVariant.values,
                sends__status__in=[SendStatus.PENDING, SendStatus.SENDING],
            ),
        )
    )
    for campaign in candidates:
        if (
            campaign.started_at
            and campaign.started_at + timedelta(hours=campaign.ab_wait_hours) <= now
            and campaign.open_cohort == 0
        ):
            ids.append(campaign.pk)
    return ids


def stalled_campaigns(quiet_seconds: int, now: datetime | None = None) -> list[int]:
    """Sending campaigns with pending sends but no send touched for ``quiet_seconds``.

    Their batch tasks were lost — a broker restart, a worker killed before re-queueing, or
    workers queued before the transaction that started the campaign committed. Found in
    one query; :func:`django_petmail.tasks.resume_stalled_campaigns` queues them again.
    """
    now = now or timezone.now()
    recent = EmailSend.objects.filter(
        campaign=OuterRef("pk"), updated_at__gte=now - timedelta(seconds=quiet_seconds)
    )
    waiting = EmailSend.objects.filter(campaign=OuterRef("pk"), status=SendStatus.PENDING)
    return list(
        EmailCampaign.objects.filter(status=CampaignStatus.SENDING)
        .filter(Exists(waiting))
        .exclude(Exists(recent))
        .values_list("pk", flat=True)
    )
