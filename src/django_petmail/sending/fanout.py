"""Fan-out: a campaign's audience becomes ``EmailSend`` rows in one ``INSERT … SELECT``.

Audience = the segment's eligible members (or every eligible subscriber) minus preference
conflicts: the campaign's topic not chosen, ``important_only`` subscribers for ordinary
campaigns, and subscribers at their weekly/monthly cap (counted from the send ledger).
The unique (campaign, subscription) constraint plus ``ON CONFLICT DO NOTHING`` make a
repeated fan-out add nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    lookups,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..conf import petmail_settings
from ..db import insert_from_select
from ..models import (
    SEND_COUNTS_AGAINST_CAP,
    SEND_WAITING,
    CampaignStatus,
    EmailCampaign,
    EmailSend,
    Frequency,
    NewsletterSubscription,
    SegmentMembership,
    SendStatus,
    SubscriptionStatus,
    Suppression,
)
from ..segments.lookups import JSONListContains
from ..segments.service import eligible_subscriptions, rules_q, segment_members


def audience(campaign: EmailCampaign) -> QuerySet[NewsletterSubscription]:
    """Who this campaign would reach now (one query, nothing evaluated)."""
    segment = campaign.segment
    base = segment_members(segment) if segment is not None else eligible_subscriptions()
    if campaign.topic:
        base = base.filter(JSONListContains(F("topics"), campaign.topic))
    if not campaign.is_important:
        base = base.exclude(frequency=Frequency.IMPORTANT_ONLY)
        now = timezone.now()
        for frequency, (cap, days) in petmail_settings.FREQUENCY_CAPS.items():
            # sent within the window, or queued by another campaign that is going out now
            # (two campaigns started back to back must not both reach a weekly subscriber)
            counted = Q(
                status__in=SEND_COUNTS_AGAINST_CAP, sent_at__gte=now - timedelta(days=int(days))
            )
            counted |= Q(
                status__in=SEND_WAITING,
                campaign__status__in=[CampaignStatus.SENDING, CampaignStatus.PAUSED],
            )
            recent = (
                EmailSend.objects.filter(
                    counted, subscription=OuterRef("pk"), campaign__isnull=False
                )
                .exclude(campaign=campaign)
                .order_by()
                .values("subscription")
                .annotate(n=Count("pk"))
                .values("n")[:1]
            )
            at_cap = Q(frequency=frequency) & Q(
                _recent_at_cap(Coalesce(Subquery(recent, output_field=IntegerField()), 0), cap)
            )
            base = base.exclude(at_cap)
    return base


@dataclass
class AudienceBreakdown:
    """Who a campaign would reach now, and why the segment's other members would not.

    ``matched`` counts every subscription the segment selects, whatever its state; each
    member left out is counted once, under the first reason that excludes it, in the order
    of the fields below (``by_status`` holds the non-active ones by status)."""

    matched: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    paused: int = 0
    suppressed: int = 0
    topic_not_chosen: int = 0
    important_only: int = 0
    frequency_cap: int = 0
    recipients: int = 0

    def excluded(self) -> dict[str, int]:
        """Reason → count, only the reasons that exclude somebody."""
        reasons = {f"status_{status}": n for status, n in sorted(self.by_status.items())}
        reasons |= {
            "paused": self.paused,
            "suppressed": self.suppressed,
            "topic_not_chosen": self.topic_not_chosen,
            "important_only": self.important_only,
            "frequency_cap": self.frequency_cap,
        }
        return {reason: n for reason, n in reasons.items() if n}


def audience_breakdown(campaign: EmailCampaign) -> AudienceBreakdown:
    """:func:`audience` counted step by step: a few ``COUNT`` queries over the segment's
    members, nothing loaded. Raises ``RuleValidationError`` for invalid segment rules."""
    segment = campaign.segment
    everyone = NewsletterSubscription.objects.all()
    if segment is None:
        matched = everyone
    elif segment.is_frozen:
        frozen = SegmentMembership.objects.filter(segment=segment, subscription=OuterRef("pk"))
        matched = everyone.filter(Exists(frozen))
    else:
        matched = everyone.filter(rules_q(segment.rules))
    by_status = dict(
        matched.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    suppressed = Suppression.objects.filter(email_hash=OuterRef("email_hash"))
    active = matched.filter(status=SubscriptionStatus.ACTIVE).aggregate(
        paused=Count("pk", filter=Q(is_paused=True)),
        suppressed=Count("pk", filter=Q(is_paused=False) & Q(Exists(suppressed))),
    )
    eligible = segment_members(segment) if segment is not None else eligible_subscriptions()
    n_eligible = eligible.count()
    with_topic = eligible.filter(JSONListContains(F("topics"), campaign.topic))
    n_topic = with_topic.count() if campaign.topic else n_eligible
    n_frequency = n_topic
    if not campaign.is_important:
        base = with_topic if campaign.topic else eligible
        n_frequency = base.exclude(frequency=Frequency.IMPORTANT_ONLY).count()
    recipients = audience(campaign).count()
    return AudienceBreakdown(
        matched=sum(by_status.values()),
        by_status={s: n for s, n in by_status.items() if s != SubscriptionStatus.ACTIVE},
        paused=active["paused"],
        suppressed=active["suppressed"],
        topic_not_chosen=n_eligible - n_topic,
        important_only=n_topic - n_frequency,
        frequency_cap=n_frequency - recipients,
        recipients=recipients,
    )


def _recent_at_cap(count: Coalesce, cap: int) -> lookups.GreaterThanOrEqual:
    return lookups.GreaterThanOrEqual(count, int(cap))


def fan_out(campaign: EmailCampaign) -> int:
    """Insert one pending send per audience member; returns the number inserted.

    For an A/B test every row starts ``held``; :func:`django_petmail.sending.ab.assign_cohort`
    then releases the test cohort (split A/B) and the rest waits for the winner.
    """
    now = timezone.now()
    status = SendStatus.HELD if campaign.is_ab_test else SendStatus.PENDING
    rows = (
        audience(campaign)
        .order_by()
        .annotate(
            _campaign=Value(campaign.pk, output_field=IntegerField()),
            _sub=F("pk"),
            _owner=F("owner_id"),
            _email=F("email"),
            _status=Value(status, output_field=CharField()),
            _variant=Value("", output_field=CharField()),
            _claimed_by=Value("", output_field=CharField()),
            _attempts=Value(0, output_field=IntegerField()),
            _esp=Value("", output_field=CharField()),
            _error=Value("", output_field=CharField()),
            _bounce=Value("", output_field=CharField()),
            _created=Value(now, output_field=DateTimeField()),
            _updated=Value(now, output_field=DateTimeField()),
        )
        .values_list(
            "_campaign",
            "_sub",
            "_owner",
            "_email",
            "_status",
            "_variant",
            "_claimed_by",
            "_attempts",
            "_esp",
            "_error",
            "_bounce",
            "_created",
            "_updated",
        )
    )
    return insert_from_select(
        EmailSend,
        [
            "campaign",
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
