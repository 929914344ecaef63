"""Sending a sequence step's pending sends, and pausing the sequence if the account fails."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..models import EmailSend, EnrollmentStatus, SendStatus, SequenceStep
from ..sending.mailing import StepMailing
from ..sending.worker import DrainResult, drain
from .enrollment import pause_sequence


def deliver_step(step_id: int, *, budget_seconds: float | None = None) -> DrainResult:
    """Drain the step's claimable sends; a fatal error (the account or configuration is
    broken) pauses the whole sequence with the reason, as it pauses a campaign."""
    step = SequenceStep.objects.select_related("sequence").filter(pk=step_id).first()
    if step is None:
        return DrainResult(stopped=True)
    result = drain(StepMailing(step), budget_seconds=budget_seconds)
    if result.fatal:
        pause_sequence(step.sequence, reason=f"sending failed: {result.fatal}")
    return result


def stalled_steps(quiet_seconds: int, now: datetime | None = None) -> list[int]:
    """Steps of active sequences with claimable pending sends but no send of theirs touched
    for ``quiet_seconds``: their worker was lost (a broker restart, a killed worker).
    One query; ``resume_stalled_campaigns`` queues them again."""
    now = now or timezone.now()
    recent = EmailSend.objects.filter(
        sequence_step=OuterRef("pk"), updated_at__gte=now - timedelta(seconds=quiet_seconds)
    )
    waiting = EmailSend.objects.filter(sequence_step=OuterRef("pk"), status=SendStatus.PENDING)
    waiting = waiting.exclude(enrollment__status=EnrollmentStatus.PAUSED)
    return list(
        SequenceStep.objects.filter(sequence__is_active=True)
        .filter(Exists(waiting))
        .exclude(Exists(recent))
        .values_list("pk", flat=True)
    )
