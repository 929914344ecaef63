"""Who enters a sequence, and who leaves it.

Every enrollment is written by one ``INSERT … SELECT … ON CONFLICT DO NOTHING``, for one
recipient (an event trigger) or for a whole set (a scheduled trigger, a segment enrolled by
hand): the unique constraints decide, never a Python check that two processes could both
pass. The re-entry policy only changes the ``cycle`` the SELECT proposes:

* ``never`` — always cycle 0: anyone enrolled once conflicts forever;
* ``after_completion`` — the next cycle; the partial unique constraint on running
  enrollments makes it conflict while one still runs;
* ``always`` — the running enrollment is cancelled (``re-entered``) first, then as above;
  only for events: a scheduled trigger re-finds the same people on every run, and
  restarting them would resend step 1 every minute.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import (
    CharField,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    JSONField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import signals
from ..db import insert_from_select
from ..models import (
    ENROLLMENT_RUNNING,
    SEND_ACCEPTED,
    SEND_WAITING,
    AutomatedSequence,
    EmailSend,
    EnrollmentQuerySet,
    EnrollmentStatus,
    NewsletterSubscription,
    ReentryPolicy,
    SendStatus,
    SequenceEnrollment,
    SequenceStep,
    TriggerType,
)
from ..segments.service import segment_members
from ..sending.mailing import sequence_recipients
from ..subscriptions import subscription_of
from .registry import TriggerKind, sequence_triggers, trigger_error
from .scheduling import schedule

logger = logging.getLogger(__name__)

#: The trigger data kept on an enrollment (its ``context``) is bounded.
MAX_CONTEXT_BYTES = 8_192


def audience(sequence: AutomatedSequence) -> QuerySet[NewsletterSubscription]:
    """Who may enter ``sequence`` now: its recipients' rules, and its segment if it has one
    (a segment gates entry; a step is not re-checked against it)."""
    base = sequence_recipients(sequence)
    if sequence.segment_id and sequence.segment is not None:
        base = base.filter(pk__in=segment_members(sequence.segment).values("pk"))
    return base


def enroll(
    sequence: AutomatedSequence,
    subscriptions: QuerySet[NewsletterSubscription],
    *,
    context: dict[str, Any] | None = None,
    trigger: str = "",
    now: datetime | None = None,
    restart: bool = True,
) -> int:
    """Enroll those of ``subscriptions`` who may enter; returns how many were enrolled.

    ``restart=False`` keeps running enrollments under ``always`` (the policy then acts as
    ``after_completion``): a scheduled trigger finds whoever *still* matches its condition
    on every run, which is not a new event.

    One statement whatever the size of the set (plus one UPDATE for ``always``), then their
    first step is scheduled at once (:func:`~django_petmail.sequences.progression.schedule`,
    one UPDATE per step), its delay counted from ``now``; the next
    ``process_automated_sequences`` run after that time sends it.
    """
    now = now or timezone.now()
    if not sequence.is_active:
        return 0
    who = audience(sequence).filter(pk__in=subscriptions.order_by().values("pk"))
    if sequence.reentry != ReentryPolicy.NEVER and sequence.reentry_cooldown_days:
        recent = SequenceEnrollment.objects.filter(
            sequence=sequence,
            subscription=OuterRef("pk"),
            enrolled_at__gt=now - timedelta(days=sequence.reentry_cooldown_days),
        )
        who = who.exclude(Exists(recent))
    cycle: Any = Value(0, output_field=IntegerField())
    with transaction.atomic():
        if restart and sequence.reentry == ReentryPolicy.ALWAYS:
            cancel(
                SequenceEnrollment.objects.filter(
                    sequence=sequence, subscription__in=who.values("pk")
                ),
                reason="re-entered",
                now=now,
            )
        if sequence.reentry != ReentryPolicy.NEVER:
            last = (
                SequenceEnrollment.objects.filter(sequence=sequence, subscription=OuterRef("pk"))
                .order_by()
                .values("subscription")
                .annotate(last=Max("cycle"))
                .values("last")
            )
            cycle = Coalesce(Subquery(last, output_field=IntegerField()) + 1, 0)
        rows = (
            who.order_by()
            .annotate(
                _sequence=Value(sequence.pk, output_field=IntegerField()),
                _owner=F("owner_id"),
                _sub=F("pk"),
                _cycle=cycle,
                _step=Value(0, output_field=IntegerField()),
                _status=Value(EnrollmentStatus.ACTIVE, output_field=CharField()),
                _context=Value(context or {}, output_field=JSONField()),
                _reason=Value("", output_field=CharField()),
                _at=Value(now, output_field=DateTimeField()),
            )
            .values_list(
                "_sequence",
                "_owner",
                "_sub",
                "_cycle",
                "_step",
                "_status",
                "_context",
                "_reason",
                "_at",
                "_at",
            )
        )
        count = insert_from_select(
            SequenceEnrollment,
            [
                "sequence",
                "owner",
                "subscription",
                "cycle",
                "current_step",
                "status",
                "context",
                "cancelled_reason",
                "enrolled_at",
                "updated_at",
            ],
            rows,
            ignore_conflicts=True,
        )
        if count:
            # The first step's delay counts from the enrollment, not from whenever the next
            # beat happens to run (a few more UPDATEs, over the new enrollments only).
            schedule(sequence, now)
    if count:
        signals.send_on_commit(
            signals.enrolled, AutomatedSequence, sequence=sequence, count=count, trigger=trigger
        )
    return count


def enroll_segment(sequence: AutomatedSequence, segment: Any) -> int:
    """ "Enroll these 1,200 owners now": a segment's members, in one statement."""
    return enroll(sequence, segment_members(segment), trigger="manual")


@dataclass
class TriggerResult:
    enrolled: dict[int, int]  # sequence id → enrolled (0 or 1)
    converted: int = 0
    failed: dict[int, str] | None = None  # sequence id → error (that sequence was paused)


def _json_value(value: Any) -> Any:
    """The values a host passes that JSON lacks, written as text (an order's ``Decimal``
    total, a date); anything else is refused rather than stored as its ``repr``."""
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, date | time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _bounded_context(data: dict[str, Any]) -> dict[str, Any]:
    try:
        encoded = json.dumps(data, default=_json_value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"data: cannot be stored as JSON ({exc})") from None
    if len(encoded) > MAX_CONTEXT_BYTES:
        raise ValueError(f"data: {len(encoded)} bytes; at most {MAX_CONTEXT_BYTES}")
    result: dict[str, Any] = json.loads(encoded)
    return result


def trigger(name: str, recipient: Any, **data: Any) -> TriggerResult:
    """Fire the event trigger ``name`` for one recipient (an owner or a subscription).

    Running enrollments whose sequence has ``name`` as its goal end as ``converted``; then
    every active sequence listening to ``name`` whose matcher accepts ``data`` enrolls the
    recipient, under its rules and re-entry policy. A sequence whose matcher raises is
    paused with the error (the others go on). ``data`` is kept on the enrollment and is
    available to templates as ``trigger``.
    """
    problem = trigger_error(name, kind=TriggerKind.EVENT)
    if problem:
        raise ValueError(f"name: {problem}")
    context = _bounded_context(data)
    subscription = subscription_of(recipient)
    result = TriggerResult(enrolled={}, failed={})
    if subscription is None:
        return result
    result.converted = convert(subscription, name)
    matcher = sequence_triggers.get(name)
    one = NewsletterSubscription.objects.filter(pk=subscription.pk)
    for sequence in listening(name):
        try:
            if not matcher(sequence, context):
                continue
            result.enrolled[sequence.pk] = enroll(sequence, one, context=context, trigger=name)
        except Exception as exc:  # a host matcher failed: stop that sequence, not the caller
            logger.exception("sequence %s: trigger %r failed; paused", sequence.pk, name)
            assert result.failed is not None
            result.failed[sequence.pk] = f"{type(exc).__name__}: {exc}"
            pause_sequence(sequence, reason=f"trigger {name!r} failed: {exc}")
    return result


def listening(name: str) -> QuerySet[AutomatedSequence]:
    """Active sequences whose trigger is ``name`` (a built-in type or a custom name)."""
    return AutomatedSequence.objects.filter(is_active=True).filter(
        Q(trigger_type=name) | Q(trigger_type=TriggerType.CUSTOM, custom_trigger=name)
    )


def convert(subscription: NewsletterSubscription, goal: str) -> int:
    """End the subscriber's running enrollments in sequences whose goal is ``goal`` as
    ``converted``; each conversion is counted on the last step that reached them."""
    now = timezone.now()
    running = SequenceEnrollment.objects.filter(
        subscription=subscription,
        status__in=ENROLLMENT_RUNNING,
        sequence__goal_trigger=goal,
    )
    ids = list(running.values_list("pk", flat=True))
    if not ids:
        return 0
    with transaction.atomic():
        count = SequenceEnrollment.objects.filter(pk__in=ids, status__in=ENROLLMENT_RUNNING).update(
            status=EnrollmentStatus.CONVERTED, converted_at=now, updated_at=now
        )
        EmailSend.objects.filter(enrollment_id__in=ids, status__in=SEND_WAITING).update(
            status=SendStatus.CANCELLED, updated_at=now
        )
        # the last step that reached them is the highest step *number* sent, not the highest
        # row id (steps are added and renumbered in any order)
        last_sent = EmailSend.objects.filter(
            enrollment_id=OuterRef("pk"), status__in=SEND_ACCEPTED
        ).order_by("-sequence_step__step_number")
        last_steps = (
            SequenceEnrollment.objects.filter(pk__in=ids)
            .annotate(step=Subquery(last_sent.values("sequence_step_id")[:1]))
            .filter(step__isnull=False)
            .values_list("step", flat=True)
        )
        _count_goals(list(last_steps))
    for enrollment in SequenceEnrollment.objects.filter(pk__in=ids):
        signals.send_on_commit(
            signals.converted, SequenceEnrollment, enrollment=enrollment, trigger=goal
        )
    return count


def _count_goals(step_ids: list[int]) -> None:
    counts: dict[int, int] = {}
    for step_id in step_ids:
        counts[step_id] = counts.get(step_id, 0) + 1
    for step_id, n in counts.items():  # one UPDATE per step (a sequence has a few)
        SequenceStep.objects.filter(pk=step_id).update(goal_count=F("goal_count") + n)


def cancel(enrollments: EnrollmentQuerySet, *, reason: str, now: datetime | None = None) -> int:
    """Cancel running enrollments and the step sends they still had waiting."""
    return enrollments.cancel(reason=reason, now=now)


def pause(enrollments: QuerySet[SequenceEnrollment]) -> int:
    """Pause active enrollments: nothing is sent to them until they are resumed."""
    return enrollments.filter(status=EnrollmentStatus.ACTIVE).update(
        status=EnrollmentStatus.PAUSED, updated_at=timezone.now()
    )


def resume(enrollments: QuerySet[SequenceEnrollment]) -> int:
    """Resume paused enrollments; a step that came due meanwhile goes out on the next run,
    and step sends that were waiting are announced to the workers again."""
    paused = enrollments.filter(status=EnrollmentStatus.PAUSED)
    ids = list(paused.values_list("pk", flat=True))
    count = SequenceEnrollment.objects.filter(pk__in=ids, status=EnrollmentStatus.PAUSED).update(
        status=EnrollmentStatus.ACTIVE, updated_at=timezone.now()
    )
    announce_waiting(EmailSend.objects.filter(enrollment_id__in=ids))
    return count


def pause_sequence(
    sequence: AutomatedSequence, *, reason: str = "", only_active: bool = False
) -> bool:
    """Stop a whole sequence: no enrollment, no step, no send until it is resumed.

    With ``only_active`` a sequence paused already is left as it is (its reason too);
    returns whether this call changed the sequence.
    """
    rows = AutomatedSequence.objects.filter(pk=sequence.pk)
    if only_active:
        rows = rows.filter(is_active=True)
    changed = rows.update(is_active=False, paused_reason=reason[:2000], updated_at=timezone.now())
    sequence.refresh_from_db()
    return bool(changed)


def resume_sequence(sequence: AutomatedSequence) -> None:
    AutomatedSequence.objects.filter(pk=sequence.pk).update(
        is_active=True, paused_reason="", updated_at=timezone.now()
    )
    sequence.refresh_from_db()
    announce_waiting(EmailSend.objects.filter(sequence_step__sequence=sequence))


def cancel_sequence(sequence: AutomatedSequence, *, reason: str = "sequence cancelled") -> int:
    """Deactivate the sequence and cancel every running enrollment of it."""
    pause_sequence(sequence, reason=reason)
    return cancel(SequenceEnrollment.objects.filter(sequence=sequence), reason=reason)


def announce_waiting(sends: QuerySet[EmailSend]) -> None:
    """Tell the workers about the steps that have pending sends among ``sends``."""
    steps = (
        sends.filter(status=SendStatus.PENDING, sequence_step__isnull=False)
        .order_by()
        .values_list("sequence_step_id", flat=True)
        .distinct()
    )
    announce_steps(list(steps))


def announce_steps(step_ids: list[int]) -> None:
    """``sends_queued`` for each step, when the transaction commits (workers start then)."""
    for step_id in step_ids:
        signals.send_on_commit(signals.sends_queued, SequenceStep, pk=step_id)
