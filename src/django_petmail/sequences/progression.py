"""Step progression: due enrollments get their step's send, then move on. Exactly once.

The rule: **a step's send exists at most once per enrollment** (the unique constraint
``petmail_unique_step_send``), and an enrollment advances with a conditional UPDATE that
only matches while it is still at the step before. So, per sequence and per step:

1. ``INSERT … SELECT … ON CONFLICT DO NOTHING`` the step's sends for the enrollments that
   are due and have not passed it (``pending``, or ``skipped`` when a skip condition matches
   the owner or the subscriber may no longer receive it);
2. ``UPDATE`` those enrollments to the step, with no due time;
3. ``UPDATE`` enrollments with no due time to their next step's time, or ``completed``.

Two beats at once insert the same rows once and advance each enrollment once; a crash
between 1 and 2 leaves sends that the next run does not insert again, and an enrollment that
it advances. Nothing here loops over enrollments: the loops are over a sequence's steps and
over the distinct time zones of the enrollments being scheduled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from ..conf import get_owner_model
from ..db import insert_from_select
from ..models import (
    AutomatedSequence,
    EmailSend,
    EnrollmentStatus,
    NewsletterSubscription,
    SendStatus,
    SequenceEnrollment,
    SequenceStep,
)
from .enrollment import announce_steps, audience, enroll, pause_sequence
from .registry import TriggerKind, sequence_triggers, skip_conditions
from .scheduling import active_steps, between, schedule

logger = logging.getLogger(__name__)

SKIPPED_BY_CONDITION = "skipped: a skip condition matched"
SKIPPED_NOT_ELIGIBLE = "skipped: the subscriber may no longer receive this sequence"


@dataclass
class SequenceRun:
    enrolled: int = 0
    sends: int = 0  # step sends created (pending)
    skipped: int = 0
    completed: int = 0
    error: str = ""


@dataclass
class ProcessResult:
    sequences: dict[int, SequenceRun] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        runs = self.sequences.values()
        return {
            "enrolled": sum(r.enrolled for r in runs),
            "sends": sum(r.sends for r in runs),
            "skipped": sum(r.skipped for r in runs),
            "completed": sum(r.completed for r in runs),
            "paused": sum(1 for r in runs if r.error),
        }


def process(now: datetime | None = None) -> ProcessResult:
    """One run of ``process_automated_sequences``: for every active sequence, enroll whom
    its scheduled trigger finds, then advance its due enrollments. A sequence whose host
    code (trigger, skip condition) raises is paused with the error; the others go on."""
    now = now or timezone.now()
    result = ProcessResult()
    for sequence in AutomatedSequence.objects.filter(is_active=True).select_related("segment"):
        run = result.sequences.setdefault(sequence.pk, SequenceRun())
        try:
            run.enrolled = enroll_scheduled(sequence, now)
            advance(sequence, now, run)
        except Exception as exc:
            logger.exception("sequence %s failed and was paused", sequence.pk)
            run.error = f"{type(exc).__name__}: {exc}"[:2000]
            pause_sequence(sequence, reason=run.error)
    return result


def enroll_scheduled(sequence: AutomatedSequence, now: datetime) -> int:
    """Enroll whom a scheduled trigger finds now (event triggers enroll as events happen)."""
    entry = sequence_triggers.get_entry(sequence.trigger_name)
    if entry.meta["kind"] != TriggerKind.SCHEDULED:
        return 0
    found: QuerySet[Any] = entry.obj(sequence, now)
    if found.model is NewsletterSubscription:
        subscriptions = found
    else:
        subscriptions = NewsletterSubscription.objects.filter(owner__in=found.values("pk"))
    # a condition that still holds is not a new event: never restart a running enrollment
    return enroll(sequence, subscriptions, trigger=sequence.trigger_name, now=now, restart=False)


def advance(sequence: AutomatedSequence, now: datetime, run: SequenceRun | None = None) -> None:
    run = run if run is not None else SequenceRun()
    steps = active_steps(sequence)
    run.completed += schedule(sequence, now, steps)  # enrollments new since the last run
    due = SequenceEnrollment.objects.filter(
        sequence=sequence, status=EnrollmentStatus.ACTIVE, next_send_at__lte=now
    )
    previous = 0
    queued = []
    for step in steps:
        group = due.filter(between(previous, step))
        with transaction.atomic():
            created = _create_sends(sequence, step, group, now)
            group.update(current_step=step.step_number, next_send_at=None, updated_at=now)
        run.sends += created[SendStatus.PENDING]
        run.skipped += created[SendStatus.SKIPPED]
        if created[SendStatus.PENDING]:
            queued.append(step.pk)
        previous = step.step_number
    run.completed += schedule(sequence, now, steps)
    # only steps that got new sends: a worker already draining a step re-queues itself, and
    # sends whose worker was lost are found by stalled_steps()
    announce_steps(queued)


def skip_q(step: SequenceStep) -> Q | None:
    """Owners matching any of the step's skip conditions (``None``: the step has none).

    A condition given a false value (``{"already_purchased": false}``) is off. Skip
    conditions are questions about owners: an enrollment without an owner (a subscriber
    who is nobody's account) never matches one, and gets the step.
    """
    combined: Q | None = None
    for name, value in (step.skip_if or {}).items():
        if value is False or value is None:
            continue
        q = skip_conditions.get(name)(value)
        combined = q if combined is None else combined | q
    return combined


def _create_sends(
    sequence: AutomatedSequence,
    step: SequenceStep,
    group: QuerySet[SequenceEnrollment],
    now: datetime,
) -> dict[str, int]:
    """The step's sends for ``group`` in one ``INSERT … SELECT`` (conflicts ignored)."""
    # EXISTS, not IN: PostgreSQL turns NOT IN (subquery) into a per-row scan once the
    # subquery outgrows work_mem (100k enrollments against 1M subscribers took minutes);
    # EXISTS is an anti-/semi-join whatever the sizes
    eligible = audience(sequence).filter(pk=OuterRef("subscription_id"))
    whens = [When(~Exists(eligible), then=Value(SKIPPED_NOT_ELIGIBLE))]
    condition = skip_q(step)
    if condition is not None:
        owners = get_owner_model()._default_manager.filter(condition, pk=OuterRef("owner_id"))
        whens.append(When(Exists(owners), then=Value(SKIPPED_BY_CONDITION)))
    reason = Case(*whens, default=Value(""), output_field=CharField())
    status = Case(
        When(_reason="", then=Value(SendStatus.PENDING)),
        default=Value(SendStatus.SKIPPED),
        output_field=CharField(),
    )
    rows = (
        group.filter(subscription__isnull=False)
        .order_by()
        .annotate(_reason=reason)
        .annotate(
            _step=Value(step.pk, output_field=IntegerField()),
            _enrollment=F("pk"),
            _sub=F("subscription_id"),
            _owner=F("owner_id"),
            _email=F("subscription__email"),
            _status=status,
            _empty=Value("", output_field=CharField()),
            _attempts=Value(0, output_field=IntegerField()),
            _at=Value(now, output_field=DateTimeField()),
        )
        .values_list(
            "_step",
            "_enrollment",
            "_sub",
            "_owner",
            "_email",
            "_status",
            "_empty",
            "_empty",
            "_attempts",
            "_empty",
            "_reason",
            "_empty",
            "_at",
            "_at",
        )
    )
    counts: dict[str, int] = dict.fromkeys((SendStatus.PENDING, SendStatus.SKIPPED), 0)
    mine = EmailSend.objects.filter(sequence_step=step, created_at=now)
    inserted = insert_from_select(
        EmailSend,
        [
            "sequence_step",
            "enrollment",
            "subscription",
            "owner",
            "email_address",
            "status",
            "ab_variant",
            "claimed_by",
            "attempts",
            "esp_message_id",
            "error_message",
            "bounce_type",
            "created_at",
            "updated_at",
        ],
        rows,
        ignore_conflicts=True,
    )
    if inserted:
        counts.update(mine.order_by().values_list("status").annotate(n=Count("pk")))
    return counts
