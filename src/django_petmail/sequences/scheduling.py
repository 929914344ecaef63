"""When an enrollment's next step is due, or that it has none left (completed).

Shared by enrollment (a new enrollment's first step is scheduled at once) and progression
(after each step); the delay and time-of-day arithmetic is in :mod:`.timing`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from ..models import AutomatedSequence, EnrollmentStatus, SequenceEnrollment, SequenceStep
from .timing import due_at


def active_steps(sequence: AutomatedSequence) -> list[SequenceStep]:
    return list(sequence.steps.filter(is_active=True).order_by("step_number"))


def between(previous: int, step: SequenceStep) -> Q:
    """Enrollments whose next active step is ``step``: past the previous active step (or
    the inactive ones in between), not yet at ``step``."""
    return Q(current_step__gte=previous, current_step__lt=step.step_number)


def schedule(
    sequence: AutomatedSequence,
    now: datetime,
    steps: list[SequenceStep] | None = None,
) -> int:
    """Give enrollments with no due time their next step's time (a delay after now, at the
    step's local time of day if it has one), or complete them after the last step; returns
    how many completed. One UPDATE per step (and per time zone for a step with a time)."""
    steps = steps if steps is not None else active_steps(sequence)
    waiting = SequenceEnrollment.objects.filter(
        sequence=sequence, status=EnrollmentStatus.ACTIVE, next_send_at__isnull=True
    )
    previous = 0
    for step in steps:
        group = waiting.filter(between(previous, step))
        delay = timedelta(days=step.delay_days, hours=step.delay_hours)
        if step.send_time is None:
            group.update(next_send_at=now + delay, updated_at=now)
        else:
            zones = group.order_by().values_list("subscription__timezone", flat=True).distinct()
            for zone_name in list(zones):
                group.filter(subscription__timezone=zone_name).update(
                    next_send_at=due_at(now, delay, step.send_time, zone_name or ""),
                    updated_at=now,
                )
        previous = step.step_number
    return waiting.filter(current_step__gte=previous).update(
        status=EnrollmentStatus.COMPLETED, completed_at=now, updated_at=now
    )
