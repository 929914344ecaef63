"""Record one ESP event: store it once, move its send forward, count it once.

anymail normalizes every ESP's webhooks into ``AnymailTrackingEvent``. Events arrive late,
twice, or out of order (SNS retries, an open reported before the delivery), so:

* an event is stored once: ``EmailEvent.esp_event_id`` is unique and a repeat is dropped;
* a send only moves forward — sent → delivered → opened → clicked — and bounced,
  complained and unsubscribed are terminal, winning over engagement; every move is one
  conditional ``UPDATE … WHERE status IN (…)``, never a read-modify-write;
* a campaign counter changes with the first timestamp of its kind (``delivered_at``,
  ``opened_at``, ``clicked_at``, the bounce), in the same transaction: unique opens and
  clicks, whatever the number of events;
* a permanent bounce or a complaint stops mail to the address (subscription status and
  a suppression hash); a transient bounce counts against the address, which stops after
  ``SOFT_BOUNCE_LIMIT`` of them within ``SOFT_BOUNCE_DAYS`` (a delivery starts the count
  again); a deferral is stored and changes nothing;
* a bounce of the ESP's own suppression list ends the send and the address but is flagged
  (``BounceType.SUPPRESSED``) and left out of ``bounce_count``;
* a counted bounce or complaint checks the mailing's rates (:mod:`.reputation`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from anymail.signals import EventType as AnymailEvent
from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, F, IntegerField, Q, Value, When
from django.utils import timezone

from .. import signals
from ..conf import petmail_settings
from ..models import (
    SEND_ACCEPTED,
    SEND_TERMINAL,
    BounceType,
    EmailEvent,
    EmailSend,
    EventType,
    NewsletterSubscription,
    SendStatus,
    SubscriptionStatus,
    UnsubscribeSource,
)
from ..models.subscriptions import normalize_email
from ..subscriptions import stop_mail, unsubscribe
from . import reputation

logger = logging.getLogger(__name__)

#: anymail's normalized event types → ours; the others (queued, autoresponded, inbound,
#: subscribed, unknown) say nothing about a marketing send and are ignored.
EVENT_TYPES: dict[str, str] = {
    AnymailEvent.SENT: EventType.SEND,
    AnymailEvent.DELIVERED: EventType.DELIVERY,
    AnymailEvent.OPENED: EventType.OPEN,
    AnymailEvent.CLICKED: EventType.CLICK,
    AnymailEvent.BOUNCED: EventType.BOUNCE,
    AnymailEvent.COMPLAINED: EventType.COMPLAINT,
    AnymailEvent.UNSUBSCRIBED: EventType.UNSUBSCRIBE,
    AnymailEvent.DEFERRED: EventType.DEFERRED,
    AnymailEvent.REJECTED: EventType.REJECTED,
    AnymailEvent.FAILED: EventType.FAILED,
}

# The states a send may move *from* into each engagement or terminal state: the ones
# before it on the progress line, from "sent" on. An event can beat the batch that sent the
# message to the database (SES reports within seconds; a rate-capped batch takes longer):
# engagement then only sets its timestamp, and the batch derives the status from it when it
# records the send (see sending.dispatch); a bounce or complaint is terminal at once.
_DELIVERED_FROM = SEND_ACCEPTED[: SEND_ACCEPTED.index(SendStatus.DELIVERED)]
_OPENED_FROM = SEND_ACCEPTED[: SEND_ACCEPTED.index(SendStatus.OPENED)]
_CLICKED_FROM = SEND_ACCEPTED[: SEND_ACCEPTED.index(SendStatus.CLICKED)]
_TERMINAL_FROM = (SendStatus.SENDING, *SEND_ACCEPTED)
#: A send read in one of these states cannot be (nor become) ``unknown``: only a claimed
#: (``sending``) send is marked so, and accepted or terminal sends never go back.
_NEVER_UNKNOWN = frozenset({*SEND_ACCEPTED, *SEND_TERMINAL})

#: Events that prove the ESP accepted the message.
_PROVES_SENT = frozenset(
    {
        EventType.SEND,
        EventType.DELIVERY,
        EventType.OPEN,
        EventType.CLICK,
        EventType.BOUNCE,
        EventType.COMPLAINT,
        EventType.DEFERRED,
    }
)

#: Amazon SES's bounce types that do not end an address (anymail reports them as bounced).
SOFT_BOUNCE_TYPES = frozenset({BounceType.TRANSIENT, BounceType.UNDETERMINED})
#: Amazon SES's bounce subtypes for mail it refused because of a suppression list.
SUPPRESSED_SUBTYPES = frozenset({"OnAccountSuppressionList", "Suppressed"})


@dataclass(frozen=True)
class Incoming:
    """What the ledger needs from one ESP event (built from anymail's event object)."""

    event_type: str  # anymail's normalized type
    event_id: str | None
    message_id: str | None
    recipient: str | None
    metadata: dict[str, Any]
    timestamp: datetime | None = None
    click_url: str = ""
    user_agent: str = ""
    description: str = ""
    bounce_type: str = ""
    bounce_subtype: str = ""
    # first-party tracking (tracking.firstparty) fills these; ESP events leave them empty
    ip_address: str | None = None
    link_tag: str = ""
    is_machine: bool = False  # stored, but engagement is not counted

    @property
    def bounce_kind(self) -> str:
        """What is stored as ``bounce_type``: the ESP's type, or ``suppressed``."""
        if self.bounce_subtype in SUPPRESSED_SUBTYPES:
            return BounceType.SUPPRESSED
        return self.bounce_type

    @classmethod
    def from_anymail(cls, event: Any) -> Incoming:
        esp_event = event.esp_event if isinstance(event.esp_event, dict) else {}
        bounce = esp_event.get("bounce")
        bounce = bounce if isinstance(bounce, dict) else {}
        return cls(
            event_type=str(event.event_type or ""),
            event_id=_text(event.event_id, 255) or None,
            message_id=_text(event.message_id, 255) or None,
            recipient=_text(event.recipient, 254) or None,
            metadata=event.metadata if isinstance(event.metadata, dict) else {},
            timestamp=_aware(event.timestamp),
            click_url=_text(event.click_url, 2000),
            user_agent=_text(event.user_agent, 500),
            description=_text(event.description or event.mta_response, 1000),
            bounce_type=_text(bounce.get("bounceType"), 50),
            bounce_subtype=_text(bounce.get("bounceSubType"), 50),
        )


def _aware(value: Any) -> datetime | None:
    """The event's time, as an aware datetime (a naive one is taken as UTC)."""
    if not isinstance(value, datetime):
        return None
    return timezone.make_aware(value, UTC) if timezone.is_naive(value) else value


def _text(value: Any, limit: int) -> str:
    return str(value)[:limit] if value not in (None, "") else ""


def find_send(incoming: Incoming) -> EmailSend | None:
    """The send an event is about: by the send id the message carried in its metadata,
    else by the ESP's message id. ``None`` for mail that is not ours (transactional mail
    through the same ESP) and for an event whose recipient is not the send's."""
    send_id = incoming.metadata.get("send_id")
    if isinstance(send_id, str) and send_id.isdigit():
        send_id = int(send_id)
    if isinstance(send_id, int) and not isinstance(send_id, bool) and 0 < send_id < 2**63:
        send = EmailSend.objects.filter(pk=send_id).first()
    elif incoming.message_id:
        send = EmailSend.objects.filter(esp_message_id=incoming.message_id).first()
    else:
        return None
    if send is None:
        return None
    if incoming.recipient and normalize_email(incoming.recipient) != normalize_email(
        send.email_address
    ):
        logger.warning(
            "ESP event %s names %s, not the recipient of send %s; ignored",
            incoming.event_id,
            incoming.recipient,
            send.pk,
        )
        return None
    return send


def record(incoming: Incoming) -> EmailEvent | None:
    """Store the event and apply it to its send; ``None`` if it is not ours or a repeat."""
    event_type = EVENT_TYPES.get(incoming.event_type)
    if event_type is None:
        return None
    send = find_send(incoming)
    if send is None:
        return None
    soft = event_type == EventType.BOUNCE and incoming.bounce_type in SOFT_BOUNCE_TYPES
    when = incoming.timestamp or timezone.now()
    stored = False
    try:
        # The INSERT comes first, so a repeat's IntegrityError rolls back nothing else: no
        # savepoint is needed around it (two round trips fewer per event).
        with transaction.atomic():
            event = EmailEvent.objects.create(
                send=send,
                event_type=event_type,
                esp_event_id=incoming.event_id,
                link_url=incoming.click_url,
                link_tag=incoming.link_tag,
                user_agent=incoming.user_agent,
                ip_address=incoming.ip_address,
                is_machine=incoming.is_machine,
                bounce_type=incoming.bounce_kind,
                description=incoming.description,
                occurred_at=when,
            )
            stored = True
            _apply(send, event_type, incoming, when, soft=soft)
    except IntegrityError:
        if stored:
            raise
        return None  # stored already: the ESP delivered this event twice
    signals.email_event_recorded.send(EmailEvent, event=event, send=send)
    return event


def _apply(
    send: EmailSend, event_type: str, incoming: Incoming, when: datetime, *, soft: bool
) -> None:
    counters: dict[str, int] = {}
    now = timezone.now()
    row = EmailSend.objects.filter(pk=send.pk)
    if (
        event_type in _PROVES_SENT
        and send.status not in _NEVER_UNKNOWN
        and row.filter(status=SendStatus.UNKNOWN).update(
            status=SendStatus.SENT, sent_at=when, updated_at=now
        )
    ):
        # a send the reaper marked "unknown" (its worker died mid-batch): the ESP has it,
        # so the doubt is over — it was sent, and the event applies from there
        counters["sent_count"] = 1
    if event_type == EventType.DELIVERY:
        if row.filter(delivered_at__isnull=True).update(delivered_at=when, updated_at=now):
            counters["delivered_count"] = 1
        row.filter(status__in=_DELIVERED_FROM).update(status=SendStatus.DELIVERED)
        _reset_soft_bounces(send)
    elif event_type in (EventType.OPEN, EventType.CLICK) and not incoming.is_machine:
        # a click is also an open: clients that block images never report the open
        if row.filter(opened_at__isnull=True).update(opened_at=when, updated_at=now):
            counters["open_count"] = 1
        if event_type == EventType.CLICK:
            if row.filter(clicked_at__isnull=True).update(clicked_at=when, updated_at=now):
                counters["click_count"] = 1
            row.filter(status__in=_CLICKED_FROM).update(status=SendStatus.CLICKED)
        else:
            row.filter(status__in=_OPENED_FROM).update(status=SendStatus.OPENED)
    elif event_type == EventType.BOUNCE and soft:
        _count_soft_bounce(send, when)
    elif event_type == EventType.BOUNCE:
        kind = incoming.bounce_kind
        if (
            row.filter(status__in=_TERMINAL_FROM).update(
                status=SendStatus.BOUNCED,
                bounced_at=when,
                bounce_type=kind or "bounced",
                updated_at=now,
            )
            and kind != BounceType.SUPPRESSED
        ):
            counters["bounce_count"] = 1
        _stop_mail(send, SubscriptionStatus.BOUNCED)
    elif event_type == EventType.COMPLAINT:
        if row.filter(status__in=(*_TERMINAL_FROM, SendStatus.BOUNCED)).update(
            status=SendStatus.COMPLAINED, updated_at=now
        ):
            counters["complaint_count"] = 1
        _stop_mail(send, SubscriptionStatus.COMPLAINED)
    elif event_type == EventType.UNSUBSCRIBE and send.subscription_id:
        subscription = NewsletterSubscription.objects.filter(pk=send.subscription_id).first()
        if subscription is not None:
            unsubscribe(
                subscription,
                source=UnsubscribeSource.ESP_REPORT,
                reason="reported by the ESP",
                send_id=send.pk,
                event_recorded=True,  # the ESP's event, stored above
            )
    if counters:
        send.mailing_rows().update(**{name: F(name) + n for name, n in counters.items()})
    if "bounce_count" in counters or "complaint_count" in counters:
        reputation.check(send)


def _count_soft_bounce(send: EmailSend, when: datetime) -> None:
    """One more transient bounce for the address, in one conditional UPDATE: the count
    starts again at 1 when the window (``SOFT_BOUNCE_DAYS``) has passed; reaching
    ``SOFT_BOUNCE_LIMIT`` stops mail to the address as a permanent bounce would."""
    if not send.subscription_id:
        return  # service mail to an owner without a subscription: nothing to count on
    rows = NewsletterSubscription.objects.filter(pk=send.subscription_id)
    window = timedelta(days=petmail_settings.SOFT_BOUNCE_DAYS)
    stale = Q(soft_bounce_since__isnull=True) | Q(soft_bounce_since__lt=when - window)
    rows.update(
        soft_bounce_count=Case(
            When(stale, then=Value(1)),
            default=F("soft_bounce_count") + 1,
            output_field=IntegerField(),
        ),
        soft_bounce_since=Case(
            When(stale, then=Value(when)),
            default=F("soft_bounce_since"),
            output_field=DateTimeField(),
        ),
        updated_at=timezone.now(),
    )
    if rows.filter(
        soft_bounce_count__gte=petmail_settings.SOFT_BOUNCE_LIMIT,
        status__in=[SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE],
    ).exists():
        _stop_mail(send, SubscriptionStatus.BOUNCED)


def _reset_soft_bounces(send: EmailSend) -> None:
    """A delivery proves the address works: its transient bounces are forgotten."""
    if send.subscription_id:
        NewsletterSubscription.objects.filter(
            pk=send.subscription_id, soft_bounce_count__gt=0
        ).update(soft_bounce_count=0, soft_bounce_since=None)


def _stop_mail(send: EmailSend, status: str) -> None:
    stop_mail(
        [send.subscription_id] if send.subscription_id else [], [send.email_address], status=status
    )
