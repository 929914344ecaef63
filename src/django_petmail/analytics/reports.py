"""Reports: what happened to a campaign's, a sequence step's or a subscriber's mail, and the
account's last days, read from the send ledger and its events.

Every report is a handful of set-based queries whatever the number of sends: aggregates with
filtered ``Count``\\ s, one ``GROUP BY`` for the links and one per series (hours or days),
never a query or a Python loop per send. A campaign and a step are reported by the same code,
over the "which sends" ``Q`` of their :class:`~django_petmail.sending.mailing.Mailing`.

Each result is a frozen dataclass; ``as_dict()`` gives it JSON-ready (``Decimal`` as a
string, datetimes and dates in ISO 8601). Labels (statuses, event types) are translated when
the report is built, in the active language.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import campaigns
from ..conf import petmail_settings
from ..models import (
    SEND_UNFINISHED,
    ABVariant,
    AutomatedSequence,
    BounceType,
    EmailCampaign,
    EmailEvent,
    EmailSend,
    EnrollmentStatus,
    EventType,
    NewsletterSubscription,
    SendStatus,
    SequenceStep,
)
from ..sending import ab
from ..sending.mailing import CampaignMailing, MailingKind, StepMailing
from ..tracking.events import SOFT_BOUNCE_TYPES

#: Hours the timeline covers from the first send.
TIMELINE_HOURS = 72
#: Links listed in a report.
TOP_LINKS = 10
#: Campaigns listed in the overview.
TOP_CAMPAIGNS = 5
#: The longest period the overview covers, and the longest subscriber history.
MAX_OVERVIEW_DAYS = 365
MAX_HISTORY = 1000
#: Events listed per subscriber history (a send has a few; a bound on memory all the same).
MAX_HISTORY_EVENTS = 5000

#: What is not (or not yet) going to a recipient: cancelled, or held back for an A/B winner.
_NOT_RECIPIENT = (SendStatus.CANCELLED, SendStatus.HELD)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


class _Data:
    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data: Decimals as strings, datetimes in ISO 8601."""
        result: dict[str, Any] = _jsonable(self)
        return result


def _percent(part: int | Decimal, whole: int) -> float:
    """``part`` as a percentage of ``whole`` (two decimals); 0.0 when ``whole`` is 0."""
    return round(100 * float(part) / whole, 2) if whole else 0.0


@dataclass(frozen=True)
class Funnel(_Data):
    """How far the mail went, each stage counted once per send.

    ``recipients``: sends that are not cancelled or held back for an A/B winner;
    ``sent``: accepted by the ESP (``sent_at``); ``delivered``, ``opened``, ``clicked``: sends
    with that timestamp (a click counts as an open too: clients that block images never report
    the open); ``converted``: the ``conversion_count`` counter."""

    recipients: int
    sent: int
    delivered: int
    opened: int
    clicked: int
    converted: int


@dataclass(frozen=True)
class Rates(_Data):
    """Percentages (0–100, two decimals), each 0.0 when its denominator is 0.

    ``denominator`` is ``"delivered"`` when the ESP reported any delivery for these sends,
    else ``"sent"`` (SMTP and ESPs without delivery events); ``base`` is that number.

    - ``delivery``: delivered / sent;
    - ``open``: unique opens / base; ``click``: unique clicks / base;
    - ``click_to_open``: unique clicks / unique opens;
    - ``bounce``: bounced sends / attempted (sent, or refused by the ESP at send time);
    - ``complaint``, ``unsubscribe``, ``conversion``: those counts / base.
    """

    denominator: str
    base: int
    delivery: float
    open: float
    click: float
    click_to_open: float
    bounce: float
    complaint: float
    unsubscribe: float
    conversion: float


@dataclass(frozen=True)
class Bounces(_Data):
    """Bounces by kind. ``permanent``: reported by the ESP after sending; ``rejected``:
    refused at send time; ``total`` is both (the ``bounce_count`` counter). ``transient``:
    sends with a soft bounce reported — stored, but the address keeps receiving mail and it
    is not in ``total``."""

    permanent: int
    rejected: int
    transient: int
    total: int
    suppressed: int = 0  # refused by the ESP's suppression list: not in total nor the rates


@dataclass(frozen=True)
class ABVariantResult(_Data):
    """One variant: sends accepted, opened and clicked; rates over its sent."""

    variant: str
    label: str
    sent: int
    opened: int
    clicked: int
    open_rate: float
    click_rate: float


@dataclass(frozen=True)
class ABSection(_Data):
    """The A/B test: the two-proportion z-test of ``sending.ab`` on the winning metric, as of
    now. ``winner`` is ``None`` until the campaign decided (or staff chose) one."""

    metric: str
    metric_label: str
    p_value: float
    confidence: float
    significant: bool
    winner: str | None
    decided_at: datetime | None
    variants: tuple[ABVariantResult, ...]


@dataclass(frozen=True)
class Link(_Data):
    """A link by its clicks (click events) and unique clickers (sends that clicked it)."""

    url: str
    clicks: int
    unique_clickers: int


@dataclass(frozen=True)
class TimelinePoint(_Data):
    """One hour after the first send (hour 0 holds it): sends accepted, open and click events."""

    hour: int
    at: datetime
    sent: int
    opens: int
    clicks: int


@dataclass(frozen=True)
class Progress(_Data):
    """Where the sending stands: ``done`` of ``recipients`` (``percent``), ``remaining``
    still waiting or in flight, ``unknown`` in doubt (a worker died mid-batch), the rate of
    the last minute and the estimated finish (``None`` when idle or done)."""

    status: str
    recipients: int
    done: int
    remaining: int
    unknown: int
    percent: float
    rate_per_second: float
    eta: datetime | None


@dataclass(frozen=True)
class Report(_Data):
    """A campaign's or a sequence step's results (``kind``: ``"campaign"``, ``"step"``; a
    sequence's totals: ``"sequence"``).

    ``opens_unique``/``clicks_unique`` are sends with an open/click (their first timestamps);
    ``opens_total``/``clicks_total`` every open/click event made by people. ``machine_opens``
    counts the opens first-party tracking flagged as made by machines (mail privacy proxies,
    link scanners), which are in neither. ``revenue`` and ``conversions`` are the attributed
    counters. ``ab`` is ``None`` but for A/B campaigns."""

    kind: str
    id: int
    name: str
    status: str
    funnel: Funnel
    opens_unique: int
    clicks_unique: int
    opens_total: int
    clicks_total: int
    machine_opens: int
    rates: Rates
    bounces: Bounces
    complaints: int
    unsubscribes: int
    failed: int
    revenue: Decimal
    conversions: int
    ab: ABSection | None
    top_links: tuple[Link, ...]
    timeline: tuple[TimelinePoint, ...]
    progress: Progress


@dataclass(frozen=True)
class Enrollments(_Data):
    """A sequence's enrollments by status."""

    active: int
    paused: int
    completed: int
    converted: int
    cancelled: int
    total: int


@dataclass(frozen=True)
class SequenceReport(_Data):
    """A sequence: its enrollments, one report per step (in step order) and the totals over
    every step's sends (``kind="sequence"``)."""

    id: int
    name: str
    status: str
    enrollments: Enrollments
    steps: tuple[Report, ...]
    totals: Report


@dataclass(frozen=True)
class HistoryEvent(_Data):
    type: str
    label: str
    occurred_at: datetime | None
    link_url: str
    bounce_type: str


@dataclass(frozen=True)
class HistoryEntry(_Data):
    """One send to the subscriber, with its events (oldest first)."""

    send_id: int
    kind: str
    mailing_id: int | None
    mailing_name: str
    status: str
    status_label: str
    sent_at: datetime | None
    delivered_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None
    bounced_at: datetime | None
    events: tuple[HistoryEvent, ...]


@dataclass(frozen=True)
class SubscriberHistory(_Data):
    """A subscriber's sends, newest first; ``truncated`` when older ones were left out."""

    subscription_id: int
    email: str
    sends: tuple[HistoryEntry, ...]
    truncated: bool


@dataclass(frozen=True)
class DayPoint(_Data):
    """One day of the overview: sends accepted, and the day's events by type (open and
    click events, not unique; ``bounces``: permanent bounces and refusals at send time)."""

    day: date
    sent: int
    delivered: int
    opens: int
    clicks: int
    bounces: int
    complaints: int
    unsubscribes: int


@dataclass(frozen=True)
class CampaignSummary(_Data):
    """A campaign's sends of the period: accepted, opened, clicked, rates over its sent."""

    id: int
    name: str
    status: str
    sent: int
    opened: int
    clicked: int
    open_rate: float
    click_rate: float
    revenue: Decimal


@dataclass(frozen=True)
class Overview(_Data):
    """The account over ``days`` days up to ``until``.

    ``sent``, ``delivered``, ``opens``, ``clicks`` (unique, per send) and ``bounces``
    (permanent, with refusals at send time) count sends whose timestamp falls in the period;
    ``complaints`` and ``unsubscribes`` sends with such an event in it. ``revenue`` and
    ``conversions`` are the counters of the campaigns and steps that sent in the period.
    ``bounce_rate`` is bounces / attempted (sent, or refused at send time) and
    ``complaint_rate`` complaints / sent, in percent; ``bounce_alert`` and
    ``complaint_alert`` are set when they reach ``PETMAIL["REPUTATION_BOUNCE_RATE"]`` /
    ``["REPUTATION_COMPLAINT_RATE"]`` (Amazon SES reviews an account at 5 % and 0.1 %)."""

    days: int
    since: datetime
    until: datetime
    sent: int
    delivered: int
    opens: int
    clicks: int
    bounces: int
    complaints: int
    unsubscribes: int
    revenue: Decimal
    conversions: int
    bounce_rate: float
    complaint_rate: float
    bounce_threshold: float
    complaint_threshold: float
    bounce_alert: bool
    complaint_alert: bool
    daily: tuple[DayPoint, ...]
    top_campaigns: tuple[CampaignSummary, ...]


# -- campaign, step and sequence reports ---------------------------------------------------


def campaign_report(campaign: EmailCampaign, *, now: datetime | None = None) -> Report:
    """The campaign's report (a few queries whatever its number of sends)."""
    now = now or timezone.now()
    sends = EmailSend.objects.filter(CampaignMailing(campaign).sends())
    found = campaigns.progress(campaign)
    eta = found["eta"]
    progress = Progress(
        status=str(campaign.get_status_display()),
        recipients=found["recipients"],
        done=found["done"],
        remaining=found["remaining"],
        unknown=found["by_status"].get(SendStatus.UNKNOWN, 0),
        percent=found["percent"],
        rate_per_second=found["rate_per_second"],
        eta=datetime.fromisoformat(eta) if eta else None,
    )
    return _report(
        kind=MailingKind.CAMPAIGN,
        obj_id=campaign.pk,
        name=campaign.name,
        status=str(campaign.get_status_display()),
        sends=sends,
        revenue=campaign.revenue_attributed,
        conversions=campaign.conversion_count,
        ab_section=_ab_section(campaign, sends) if campaign.is_ab_test else None,
        progress=progress,
        now=now,
    )


def step_report(step: SequenceStep, *, now: datetime | None = None) -> Report:
    """A sequence step's report: the same numbers as a campaign's, without A/B."""
    now = now or timezone.now()
    sends = EmailSend.objects.filter(StepMailing(step).sends())
    return _report(
        kind=MailingKind.STEP,
        obj_id=step.pk,
        name=str(step),
        status=_step_status(step),
        sends=sends,
        revenue=step.revenue_attributed,
        conversions=step.conversion_count,
        ab_section=None,
        progress=None,
        now=now,
    )


def sequence_report(sequence: AutomatedSequence, *, now: datetime | None = None) -> SequenceReport:
    """Enrollments by status, one report per step and the totals of all its steps."""
    now = now or timezone.now()
    by_status = dict(sequence.enrollments.order_by().values_list("status").annotate(n=Count("pk")))
    enrollments = Enrollments(
        **{status.value: by_status.get(status.value, 0) for status in EnrollmentStatus},
        total=sum(by_status.values()),
    )
    steps = list(
        SequenceStep.objects.filter(sequence=sequence)
        .select_related("sequence")
        .order_by("step_number")
    )
    step_reports = tuple(step_report(step, now=now) for step in steps)
    status = _("Active") if sequence.is_active else _("Stopped")
    totals = _report(
        kind="sequence",
        obj_id=sequence.pk,
        name=sequence.name,
        status=status,
        sends=EmailSend.objects.filter(sequence_step__sequence_id=sequence.pk),
        revenue=sum((step.revenue_attributed for step in steps), Decimal(0)),
        conversions=sum(step.conversion_count for step in steps),
        ab_section=None,
        progress=None,
        now=now,
    )
    return SequenceReport(
        id=sequence.pk,
        name=sequence.name,
        status=status,
        enrollments=enrollments,
        steps=step_reports,
        totals=totals,
    )


def _step_status(step: SequenceStep) -> str:
    if not step.sequence.is_active:
        return _("Sequence stopped")
    return _("Active") if step.is_active else _("Step off")


def _events_of(sends: QuerySet[EmailSend]) -> QuerySet[EmailEvent]:
    return EmailEvent.objects.filter(send__in=sends.order_by().values("pk")).order_by()


def _report(
    *,
    kind: str,
    obj_id: int,
    name: str,
    status: str,
    sends: QuerySet[EmailSend],
    revenue: Decimal,
    conversions: int,
    ab_section: ABSection | None,
    progress: Progress | None,
    now: datetime,
) -> Report:
    sends = sends.order_by()
    accepted = Q(sent_at__isnull=False)
    # a bounce from the ESP's suppression list is no attempt: left out of bounce rates
    suppressed = Q(bounce_type=BounceType.SUPPRESSED)
    bounced = Q(bounced_at__isnull=False) & ~suppressed
    counts = sends.aggregate(
        suppressed=Count("pk", filter=suppressed),
        recipients=Count("pk", filter=~Q(status__in=_NOT_RECIPIENT)),
        sent=Count("pk", filter=accepted),
        delivered=Count("pk", filter=Q(delivered_at__isnull=False)),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        attempted=Count("pk", filter=accepted | bounced),
        bounced=Count("pk", filter=bounced),
        rejected=Count("pk", filter=bounced & Q(bounce_type=BounceType.REJECTED)),
        complained=Count("pk", filter=Q(status=SendStatus.COMPLAINED)),
        unsubscribed=Count("pk", filter=Q(status=SendStatus.UNSUBSCRIBED)),
        failed=Count("pk", filter=Q(status=SendStatus.FAILED)),
        unknown=Count("pk", filter=Q(status=SendStatus.UNKNOWN)),
        unfinished=Count("pk", filter=Q(status__in=SEND_UNFINISHED)),
        held=Count("pk", filter=Q(status=SendStatus.HELD)),
        recent=Count("pk", filter=Q(sent_at__gte=now - timedelta(minutes=1))),
        first_sent=Min("sent_at"),
    )
    events = _events_of(sends)
    event_counts = events.aggregate(
        opens=Count("pk", filter=Q(event_type=EventType.OPEN, is_machine=False)),
        clicks=Count("pk", filter=Q(event_type=EventType.CLICK, is_machine=False)),
        machine_opens=Count("pk", filter=Q(event_type=EventType.OPEN, is_machine=True)),
        transient=Count(
            "send",
            distinct=True,
            filter=Q(event_type=EventType.BOUNCE, bounce_type__in=SOFT_BOUNCE_TYPES),
        ),
    )
    funnel = Funnel(
        recipients=counts["recipients"],
        sent=counts["sent"],
        delivered=counts["delivered"],
        opened=counts["opened"],
        clicked=counts["clicked"],
        converted=conversions,
    )
    if progress is None:
        progress = _progress(status, counts, now)
    return Report(
        kind=str(kind),
        id=obj_id,
        name=name,
        status=status,
        funnel=funnel,
        opens_unique=counts["opened"],
        clicks_unique=counts["clicked"],
        opens_total=event_counts["opens"],
        clicks_total=event_counts["clicks"],
        machine_opens=event_counts["machine_opens"],
        rates=_rates(funnel, counts),
        bounces=Bounces(
            permanent=counts["bounced"] - counts["rejected"],
            rejected=counts["rejected"],
            transient=event_counts["transient"],
            total=counts["bounced"],
            suppressed=counts["suppressed"],
        ),
        complaints=counts["complained"],
        unsubscribes=counts["unsubscribed"],
        failed=counts["failed"],
        revenue=Decimal(revenue),
        conversions=conversions,
        ab=ab_section,
        top_links=_top_links(events),
        timeline=_timeline(sends, events, counts["first_sent"], now),
        progress=progress,
    )


def _rates(funnel: Funnel, counts: dict[str, Any]) -> Rates:
    denominator = "delivered" if funnel.delivered else "sent"
    base = funnel.delivered or funnel.sent
    return Rates(
        denominator=denominator,
        base=base,
        delivery=_percent(funnel.delivered, funnel.sent),
        open=_percent(funnel.opened, base),
        click=_percent(funnel.clicked, base),
        click_to_open=_percent(funnel.clicked, funnel.opened),
        bounce=_percent(counts["bounced"], counts["attempted"]),
        complaint=_percent(counts["complained"], base),
        unsubscribe=_percent(counts["unsubscribed"], base),
        conversion=_percent(funnel.converted, base),
    )


def _progress(status: str, counts: dict[str, Any], now: datetime) -> Progress:
    """A step's (or a sequence's) progress, reckoned as ``campaigns.progress`` reckons a
    campaign's: recipients are its sends but the cancelled ones, ``remaining`` those still
    waiting or in flight, the rate the last minute's sends."""
    recipients = counts["recipients"] + counts["held"]
    remaining = counts["unfinished"]
    rate = counts["recent"] / 60
    return Progress(
        status=status,
        recipients=recipients,
        done=recipients - remaining,
        remaining=remaining,
        unknown=counts["unknown"],
        percent=round(100 * (recipients - remaining) / recipients, 1) if recipients else 0.0,
        rate_per_second=round(rate, 2),
        eta=now + timedelta(seconds=remaining / rate) if rate and remaining else None,
    )


def _ab_section(campaign: EmailCampaign, sends: QuerySet[EmailSend]) -> ABSection:
    rows = {
        row["ab_variant"]: row
        for row in sends.exclude(ab_variant="")
        .order_by()
        .values("ab_variant")
        .annotate(
            sent=Count("pk", filter=Q(sent_at__isnull=False)),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        )
    }
    decision = ab.decide(campaign)
    variants = []
    for variant, label in ABVariant.choices:
        row = rows.get(variant, {"sent": 0, "opened": 0, "clicked": 0})
        variants.append(
            ABVariantResult(
                variant=str(variant),
                label=str(label),
                sent=row["sent"],
                opened=row["opened"],
                clicked=row["clicked"],
                open_rate=_percent(row["opened"], row["sent"]),
                click_rate=_percent(row["clicked"], row["sent"]),
            )
        )
    return ABSection(
        metric=str(campaign.ab_winner_metric),
        metric_label=str(campaign.get_ab_winner_metric_display()),
        p_value=float(decision["p_value"]),
        confidence=float(decision["confidence"]),
        significant=bool(decision["significant"]),
        winner=campaign.ab_winner or None,
        decided_at=campaign.ab_decided_at,
        variants=tuple(variants),
    )


def _top_links(events: QuerySet[EmailEvent]) -> tuple[Link, ...]:
    rows = (
        events.filter(event_type=EventType.CLICK)
        .exclude(link_url="")
        .values("link_url")
        .annotate(clicks=Count("pk"), unique=Count("send", distinct=True))
        .order_by("-clicks", "link_url")[:TOP_LINKS]
    )
    return tuple(
        Link(url=row["link_url"], clicks=row["clicks"], unique_clickers=row["unique"])
        for row in rows
    )


def _hour_of(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _timeline(
    sends: QuerySet[EmailSend],
    events: QuerySet[EmailEvent],
    first_sent: datetime | None,
    now: datetime,
) -> tuple[TimelinePoint, ...]:
    """Hours 0…71 from the first send's hour (up to the current hour): two ``GROUP BY``
    hour queries; the offsets are worked out here over at most 72 rows each."""
    if first_sent is None:
        return ()
    origin = _hour_of(first_sent)
    end = origin + timedelta(hours=TIMELINE_HOURS)
    elapsed = int((_hour_of(now) - origin).total_seconds() // 3600) + 1
    hours = max(1, min(TIMELINE_HOURS, elapsed))
    sent = [0] * TIMELINE_HOURS
    opens = [0] * TIMELINE_HOURS
    clicks = [0] * TIMELINE_HOURS
    for bucket, n in (
        sends.filter(sent_at__gte=origin, sent_at__lt=end)
        .annotate(bucket=TruncHour("sent_at", tzinfo=UTC))
        .values_list("bucket")
        .annotate(n=Count("pk"))
    ):
        sent[_offset(bucket, origin)] += n
    for bucket, event_type, n in (
        events.filter(
            event_type__in=(EventType.OPEN, EventType.CLICK),
            occurred_at__gte=origin,
            occurred_at__lt=end,
        )
        .annotate(bucket=TruncHour("occurred_at", tzinfo=UTC))
        .values_list("bucket", "event_type")
        .annotate(n=Count("pk"))
    ):
        (opens if event_type == EventType.OPEN else clicks)[_offset(bucket, origin)] += n
    hours = max(hours, *(i + 1 for i in range(TIMELINE_HOURS) if sent[i] or opens[i] or clicks[i]))
    return tuple(
        TimelinePoint(
            hour=i, at=origin + timedelta(hours=i), sent=sent[i], opens=opens[i], clicks=clicks[i]
        )
        for i in range(hours)
    )


def _offset(bucket: datetime, origin: datetime) -> int:
    return min(TIMELINE_HOURS - 1, max(0, int((bucket - origin).total_seconds() // 3600)))


# -- subscriber history --------------------------------------------------------------------


def subscriber_history(subscription: NewsletterSubscription, limit: int = 100) -> SubscriberHistory:
    """The subscriber's ``limit`` latest sends (1…1000), newest first, each with its events.
    Two queries."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_HISTORY:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_HISTORY}, got {limit!r}")
    rows = list(
        EmailSend.objects.filter(subscription=subscription)
        .select_related("campaign", "sequence_step__sequence")
        .order_by("-created_at", "-pk")[: limit + 1]
    )
    truncated = len(rows) > limit
    rows = rows[:limit]
    events: dict[int, list[HistoryEvent]] = {row.pk: [] for row in rows}
    labels = dict(EventType.choices)
    for send_id, event_type, occurred_at, link_url, bounce_type in (
        EmailEvent.objects.filter(send_id__in=list(events))
        .order_by("occurred_at", "pk")
        .values_list("send_id", "event_type", "occurred_at", "link_url", "bounce_type")[
            :MAX_HISTORY_EVENTS
        ]
    ):
        events[send_id].append(
            HistoryEvent(
                type=event_type,
                label=str(labels.get(event_type, event_type)),
                occurred_at=occurred_at,
                link_url=link_url,
                bounce_type=bounce_type,
            )
        )
    return SubscriberHistory(
        subscription_id=subscription.pk,
        email=subscription.email,
        sends=tuple(_history_entry(row, tuple(events[row.pk])) for row in rows),
        truncated=truncated,
    )


def _history_entry(send: EmailSend, events: tuple[HistoryEvent, ...]) -> HistoryEntry:
    if send.campaign_id and send.campaign is not None:
        kind, mailing_id, name = MailingKind.CAMPAIGN, send.campaign_id, send.campaign.name
    elif send.sequence_step_id and send.sequence_step is not None:
        kind, mailing_id, name = MailingKind.STEP, send.sequence_step_id, str(send.sequence_step)
    else:  # pragma: no cover - a send always belongs to one (its mailing's rows cascade)
        kind, mailing_id, name = MailingKind.CAMPAIGN, None, ""
    return HistoryEntry(
        send_id=send.pk,
        kind=str(kind),
        mailing_id=mailing_id,
        mailing_name=name,
        status=send.status,
        status_label=str(send.get_status_display()),
        sent_at=send.sent_at,
        delivered_at=send.delivered_at,
        opened_at=send.opened_at,
        clicked_at=send.clicked_at,
        bounced_at=send.bounced_at,
        events=events,
    )


# -- account overview ----------------------------------------------------------------------


def overview(days: int = 30, now: datetime | None = None) -> Overview:
    """The account over the last ``days`` days (1…365), against the SES review thresholds."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_OVERVIEW_DAYS:
        raise ValueError(f"days must be a whole number from 1 to {MAX_OVERVIEW_DAYS}, got {days!r}")
    until = now or timezone.now()
    since = until - timedelta(days=days)

    def within(column: str) -> Q:
        return Q(**{f"{column}__gte": since, f"{column}__lt": until})

    in_period = within("sent_at") | within("bounced_at")
    counts = (
        EmailSend.objects.order_by()
        .filter(in_period | within("delivered_at") | within("opened_at") | within("clicked_at"))
        .aggregate(
            sent=Count("pk", filter=within("sent_at")),
            attempted=Count("pk", filter=in_period),
            delivered=Count("pk", filter=within("delivered_at")),
            opens=Count("pk", filter=within("opened_at")),
            clicks=Count("pk", filter=within("clicked_at")),
            bounces=Count("pk", filter=within("bounced_at")),
        )
    )
    events = EmailEvent.objects.order_by().filter(within("occurred_at"))
    event_counts = events.aggregate(
        complaints=Count("send", distinct=True, filter=Q(event_type=EventType.COMPLAINT)),
        unsubscribes=Count("send", distinct=True, filter=Q(event_type=EventType.UNSUBSCRIBE)),
    )
    sent_in_period = EmailSend.objects.filter(within("sent_at"))
    revenue = Decimal(0)
    conversions = 0
    for model, column in ((EmailCampaign, "campaign"), (SequenceStep, "sequence_step")):
        sums = (
            model._default_manager.order_by()
            .filter(Exists(sent_in_period.filter(**{column: OuterRef("pk")})))
            .aggregate(revenue=Sum("revenue_attributed"), conversions=Sum("conversion_count"))
        )
        revenue += sums["revenue"] or Decimal(0)
        conversions += sums["conversions"] or 0
    bounce_rate = _percent(counts["bounces"], counts["attempted"])
    complaint_rate = _percent(event_counts["complaints"], counts["sent"])
    bounce_threshold = petmail_settings.REPUTATION_BOUNCE_RATE
    complaint_threshold = petmail_settings.REPUTATION_COMPLAINT_RATE
    return Overview(
        days=days,
        since=since,
        until=until,
        sent=counts["sent"],
        delivered=counts["delivered"],
        opens=counts["opens"],
        clicks=counts["clicks"],
        bounces=counts["bounces"],
        complaints=event_counts["complaints"],
        unsubscribes=event_counts["unsubscribes"],
        revenue=Decimal(revenue).quantize(Decimal("0.01")),
        conversions=conversions,
        bounce_rate=bounce_rate,
        complaint_rate=complaint_rate,
        bounce_threshold=bounce_threshold,
        complaint_threshold=complaint_threshold,
        bounce_alert=bool(counts["attempted"]) and bounce_rate >= bounce_threshold,
        complaint_alert=bool(counts["sent"]) and complaint_rate >= complaint_threshold,
        daily=_daily(since, until, within),
        top_campaigns=_top_campaigns(within("sent_at")),
    )


#: Event types of the daily series, and the field each one counts in.
_DAILY_EVENTS: dict[str, str] = {
    EventType.DELIVERY: "delivered",
    EventType.OPEN: "opens",
    EventType.CLICK: "clicks",
    EventType.BOUNCE: "bounces",
    EventType.REJECTED: "bounces",
    EventType.COMPLAINT: "complaints",
    EventType.UNSUBSCRIBE: "unsubscribes",
}


def _daily(since: datetime, until: datetime, within: Any) -> tuple[DayPoint, ...]:
    """One point per day of the period (in the current time zone): two ``GROUP BY`` day
    queries, the days filled in here."""
    first = timezone.localtime(since).date()
    last = timezone.localtime(until).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    table: dict[date, dict[str, int]] = {
        day: dict.fromkeys(
            ("sent", "delivered", "opens", "clicks", "bounces", "complaints", "unsubscribes"), 0
        )
        for day in days
    }
    for day, n in (
        EmailSend.objects.order_by()
        .filter(within("sent_at"))
        .annotate(day=TruncDate("sent_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
    ):
        if day in table:
            table[day]["sent"] += n
    soft = Q(event_type=EventType.BOUNCE, bounce_type__in=SOFT_BOUNCE_TYPES)
    for day, event_type, n in (
        EmailEvent.objects.order_by()
        .filter(within("occurred_at"), event_type__in=list(_DAILY_EVENTS))
        .exclude(soft)
        .annotate(day=TruncDate("occurred_at"))
        .values_list("day", "event_type")
        .annotate(n=Count("pk"))
    ):
        if day in table:
            table[day][_DAILY_EVENTS[event_type]] += n
    return tuple(DayPoint(day=day, **table[day]) for day in days)


def _top_campaigns(sent_in_period: Q) -> tuple[CampaignSummary, ...]:
    rows = (
        EmailSend.objects.order_by()
        .filter(sent_in_period, campaign__isnull=False)
        .values("campaign_id", "campaign__name", "campaign__status", "campaign__revenue_attributed")
        .annotate(
            sent=Count("pk"),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        )
        .order_by("-sent", "campaign_id")[:TOP_CAMPAIGNS]
    )
    labels = dict(EmailCampaign._meta.get_field("status").choices or ())
    return tuple(
        CampaignSummary(
            id=row["campaign_id"],
            name=row["campaign__name"],
            status=str(labels.get(row["campaign__status"], row["campaign__status"])),
            sent=row["sent"],
            opened=row["opened"],
            clicked=row["clicked"],
            open_rate=_percent(row["opened"], row["sent"]),
            click_rate=_percent(row["clicked"], row["sent"]),
            revenue=Decimal(row["campaign__revenue_attributed"]),
        )
        for row in rows
    )
