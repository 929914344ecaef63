"""Sending a sequence step's pending sends, and pausing the sequence if the account fails."""

from __future__ import annotations

from ..models import SequenceStep
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
