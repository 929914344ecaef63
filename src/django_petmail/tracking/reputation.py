"""The reputation guard: a mailing whose bounces or complaints would hurt the sender's
reputation stops itself.

Amazon SES reviews an account whose bounce rate reaches 5 % or complaint rate 0.1 %.
After each counted bounce or complaint, :func:`check` reads the mailing's counters (one
query): a ``sending`` campaign, or an active sequence (the sum over its steps), with at
least ``REPUTATION_MIN_SENT`` sends whose bounce rate reaches ``REPUTATION_BOUNCE_RATE`` or
whose complaint rate reaches ``REPUTATION_COMPLAINT_RATE`` (percentages of ``sent_count``)
is reported with ``reputation_threshold_reached`` when the event commits. Tracking knows
no lifecycle: the package's receiver pauses the campaign or sequence, stores the
:func:`reason`, and sends ``reputation_paused``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Max, Sum
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import signals
from ..conf import petmail_settings
from ..models import AutomatedSequence, CampaignStatus, EmailCampaign, EmailSend, SequenceStep


class ReputationMetric(models.TextChoices):
    BOUNCE_RATE = "bounce_rate", _("bounce rate")
    COMPLAINT_RATE = "complaint_rate", _("complaint rate")


def check(send: EmailSend) -> None:
    """Announce (on commit) a mailing of ``send``'s that crossed a threshold."""
    sender: type[Any]
    totals: dict[str, Any]
    if send.campaign_id:
        sender, pk = EmailCampaign, send.campaign_id
        totals = dict(
            EmailCampaign.objects.filter(pk=pk, status=CampaignStatus.SENDING)
            .values("sent_count", "bounce_count", "complaint_count")
            .first()
            or {}
        )
    elif send.sequence_step_id:
        sender = AutomatedSequence
        totals = SequenceStep.objects.filter(
            sequence__steps=send.sequence_step_id, sequence__is_active=True
        ).aggregate(
            sent_count=Sum("sent_count"),
            bounce_count=Sum("bounce_count"),
            complaint_count=Sum("complaint_count"),
            sequence=Max("sequence_id"),
        )
        pk = totals["sequence"]
    else:  # pragma: no cover - every send belongs to a campaign or a step
        return
    sent = totals.get("sent_count") or 0
    if sent < petmail_settings.REPUTATION_MIN_SENT:
        return
    for metric, count, threshold in (
        (ReputationMetric.BOUNCE_RATE, totals["bounce_count"], "REPUTATION_BOUNCE_RATE"),
        (ReputationMetric.COMPLAINT_RATE, totals["complaint_count"], "REPUTATION_COMPLAINT_RATE"),
    ):
        rate = (count or 0) / sent * 100
        limit = getattr(petmail_settings, threshold)
        if rate >= limit:
            signals.send_on_commit(
                signals.reputation_threshold_reached,
                sender,
                pk=pk,
                metric=metric.value,
                rate=rate,
                threshold=limit,
                sent=sent,
            )
            return


def reason(metric: str, rate: float, threshold: float, sent: int) -> str:
    """Why the mailing was paused, in the active language (stored as ``paused_reason``)."""
    return gettext(
        "Paused automatically: the %(metric)s reached %(rate).2f %% (limit %(threshold)s %%) "
        "after %(sent)d sent messages. Check the list and the content before resuming."
    ) % {
        "metric": ReputationMetric(metric).label,
        "rate": rate,
        "threshold": f"{threshold:g}",
        "sent": sent,
    }
