"""Segment fields every installation has: the subscription's own columns and engagement.

Registered when the app is ready, before host ``petmail_hooks`` modules, so a host may
``replace=True`` any of them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..exceptions import ValueProblem
from ..models import (
    SEND_ACCEPTED,
    EmailSend,
    EnrollmentStatus,
    Frequency,
    SequenceEnrollment,
    SubscriptionSource,
    SubscriptionStatus,
)
from .fields import FieldType, register_segment_field, segment_fields
from .values import parse_duration_days


def _engagement(op: str, days: int) -> Q:
    since = timezone.now() - timedelta(days=days)
    column = "opened_at" if op == "opened_in_last" else "clicked_at"
    sends = EmailSend.objects.filter(subscription=OuterRef("pk"), **{f"{column}__gte": since})
    return Q(Exists(sends))


def _engagement_value(op: str, raw: Any) -> int:
    return parse_duration_days(raw)


def _positive_id(op: str, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw < 2**63:
        raise ValueProblem(
            gettext("expected the id of a record (a positive integer), got %(value)r")
            % {"value": raw}
        )
    return raw


def _received_campaign(op: str, campaign_id: int) -> Q:
    sends = EmailSend.objects.filter(
        subscription=OuterRef("pk"), campaign_id=campaign_id, status__in=SEND_ACCEPTED
    )
    return Q(Exists(sends)) if op == "eq" else ~Q(Exists(sends))


def _in_sequence(op: str, sequence_id: int) -> Q:
    live = [EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED]
    by_subscription = SequenceEnrollment.objects.filter(
        subscription=OuterRef("pk"), sequence_id=sequence_id, status__in=live
    )
    by_owner = SequenceEnrollment.objects.filter(
        owner=OuterRef("owner"), sequence_id=sequence_id, status__in=live
    )
    q = Q(Exists(by_subscription)) | Q(Exists(by_owner))
    return q if op == "eq" else ~q


def register_builtin_fields() -> None:
    if "status" in segment_fields:
        return
    # Segment members are always eligible subscriptions (active, not paused, not
    # suppressed): offering pending/unsubscribed/bounced would let authors write rules that
    # can never match, so only "active" is a valid value and the help text says why.
    register_segment_field(
        "status",
        type=FieldType.CHOICE,
        label=_("Status"),
        choices=[(SubscriptionStatus.ACTIVE.value, SubscriptionStatus.ACTIVE.label)],
        help_text=_(
            "Only active subscribers (not paused, not suppressed) are ever members of a "
            "segment, so 'active' is the only value; other statuses could never match."
        ),
    )
    register_segment_field(
        "source", type=FieldType.CHOICE, label=_("Source"), choices=SubscriptionSource.choices
    )
    register_segment_field(
        "language", type=FieldType.STRING, label=_("Language"), ops=("eq", "ne", "in", "not_in")
    )
    register_segment_field("topics", type=FieldType.LIST, label=_("Topics"))
    register_segment_field(
        "frequency", type=FieldType.CHOICE, label=_("Frequency"), choices=Frequency.choices
    )
    register_segment_field("email", type=FieldType.STRING, label=_("Email"))
    register_segment_field("first_name", type=FieldType.STRING, label=_("Name"))
    register_segment_field("subscribed_at", type=FieldType.DATETIME, label=_("Subscribed at"))
    register_segment_field("confirmed_at", type=FieldType.DATETIME, label=_("Confirmed at"))
    register_segment_field(
        "email_engagement",
        type=FieldType.DURATION,
        label=_("Email engagement"),
        ops=("opened_in_last", "clicked_in_last"),
        lookup=_engagement,
        value_parser=_engagement_value,
    )
    register_segment_field(
        "received_campaign",
        type=FieldType.NUMBER,
        label=_("Received campaign"),
        ops=("eq", "ne"),
        lookup=_received_campaign,
        value_parser=_positive_id,
    )
    register_segment_field(
        "in_sequence",
        type=FieldType.NUMBER,
        label=_("In sequence"),
        ops=("eq", "ne"),
        lookup=_in_sequence,
        value_parser=_positive_id,
    )
