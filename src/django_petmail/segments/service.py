"""Who is in a segment: eligible subscriptions, previews, cached counts, static snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, QuerySet, Value
from django.utils import timezone

from ..db import insert_from_select
from ..exceptions import RuleValidationError
from ..models import (
    CustomerSegment,
    NewsletterSubscription,
    SegmentMembership,
    SubscriptionStatus,
    Suppression,
)
from .compiler import compile_rules
from .rules import validate_rules


def eligible_subscriptions() -> QuerySet[NewsletterSubscription]:
    """Subscriptions that may receive marketing mail now: active, not paused, not on the
    suppression list."""
    suppressed = Suppression.objects.filter(email_hash=OuterRef("email_hash"))
    return NewsletterSubscription.objects.filter(
        status=SubscriptionStatus.ACTIVE, is_paused=False
    ).exclude(Exists(suppressed))


def reachable_subscriptions(*, marketing: bool = True) -> QuerySet[NewsletterSubscription]:
    """Who may be mailed: for marketing, :func:`eligible_subscriptions`; for service mail
    (``marketing=False``: a vaccination reminder) any confirmed address, unsubscribed from
    marketing or paused or not, that has not bounced, complained or been suppressed."""
    if marketing:
        return eligible_subscriptions()
    suppressed = Suppression.objects.filter(email_hash=OuterRef("email_hash"))
    return NewsletterSubscription.objects.filter(
        status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.UNSUBSCRIBED],
        confirmed_at__isnull=False,
    ).exclude(Exists(suppressed))


def rules_q(rules: Any) -> Q:
    """Validate and compile ``rules``; the ``Q`` is also checked against the model so that
    bad paths of registered fields surface as validation errors, not at send time."""
    q = compile_rules(validate_rules(rules))
    try:
        NewsletterSubscription.objects.filter(q).query  # noqa: B018 - builds, does not run
    except Exception as exc:
        raise RuleValidationError([("rules", f"cannot be evaluated: {exc}")]) from exc
    return q


def members_for_rules(rules: Any) -> QuerySet[NewsletterSubscription]:
    return eligible_subscriptions().filter(rules_q(rules))


def segment_members(segment: CustomerSegment) -> QuerySet[NewsletterSubscription]:
    """The segment's eligible members: its rules now, or its frozen snapshot if static."""
    if segment.is_frozen:
        frozen = SegmentMembership.objects.filter(segment=segment, subscription=OuterRef("pk"))
        return eligible_subscriptions().filter(Exists(frozen))
    return members_for_rules(segment.rules)


@dataclass
class Preview:
    count: int
    sample: list[dict[str, Any]] = field(default_factory=list)
    sql: str = ""


def preview(rules: Any, sample_size: int = 10) -> Preview:
    """Count, a few members, and the SQL, for authors checking their rules."""
    return _preview(members_for_rules(rules), sample_size)


def preview_segment(segment: CustomerSegment, sample_size: int = 10) -> Preview:
    """:func:`preview` of a saved segment: its snapshot's members if frozen, else its rules."""
    return _preview(segment_members(segment), sample_size)


def _preview(queryset: QuerySet[NewsletterSubscription], sample_size: int) -> Preview:
    try:
        count = queryset.count()
        rows = queryset.order_by("pk").values("id", "email", "first_name", "language")
        sample: list[dict[str, Any]] = [dict(row) for row in rows[:sample_size]]
    except DatabaseError as exc:
        raise RuleValidationError([("rules", f"the database rejected the query: {exc}")]) from exc
    return Preview(count=count, sample=sample, sql=str(queryset.values("pk").query))


def refresh_count(segment: CustomerSegment) -> int:
    count = segment_members(segment).count()
    now = timezone.now()
    CustomerSegment.objects.filter(pk=segment.pk).update(member_count=count, last_calculated=now)
    segment.member_count, segment.last_calculated = count, now
    return count


def refresh_counts(segments: QuerySet[CustomerSegment] | None = None) -> dict[int, int | None]:
    """Refresh ``member_count`` of active segments: one COUNT per segment. A segment whose
    rules no longer validate (a field was unregistered) is reported as ``None``."""
    result: dict[int, int | None] = {}
    for segment in (
        segments if segments is not None else CustomerSegment.objects.filter(is_active=True)
    ):
        try:
            result[segment.pk] = refresh_count(segment)
        except RuleValidationError:
            result[segment.pk] = None
    return result


def snapshot(segment: CustomerSegment) -> int:
    """Freeze the rules' current members into the segment (which becomes static). One
    ``INSERT … SELECT``; returns the member count."""
    now = timezone.now()
    members = members_for_rules(segment.rules)
    # savepoint=False: inside a caller's transaction a failure rolls the caller back rather
    # than leaving a half-replaced membership behind a savepoint
    with transaction.atomic(savepoint=False):
        # one snapshot of a segment at a time: two concurrent ones would both delete, then
        # the second INSERT would collide with the first one's rows
        CustomerSegment.objects.select_for_update().filter(pk=segment.pk).first()
        SegmentMembership.objects.filter(segment=segment).delete()
        rows = members.annotate(
            _segment=Value(segment.pk),
            _added=Value(now, output_field=DateTimeField()),
            _sub=F("pk"),
        ).values_list("_segment", "_sub", "_added")
        inserted = insert_from_select(
            SegmentMembership, ["segment", "subscription", "added_at"], rows.order_by()
        )
        CustomerSegment.objects.filter(pk=segment.pk).update(
            is_dynamic=False, snapshot_at=now, member_count=inserted, last_calculated=now
        )
    segment.is_dynamic, segment.snapshot_at, segment.member_count = False, now, inserted
    segment.last_calculated = now
    return inserted
