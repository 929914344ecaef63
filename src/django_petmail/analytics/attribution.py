"""Revenue attribution: a host reports a conversion (an order), petmail credits the email that
led to it.

A conversion goes to the subscriber's **last click** within ``REVENUE_ATTRIBUTION_DAYS``
before it (with ``REVENUE_ATTRIBUTE_OPENS``, the last open when there was no click); the
amount and one conversion are added to that send's campaign or sequence step with one atomic
``F()`` update. Each conversion is stored once per host ``reference``: the unique constraint
decides, so a retried call or two processes reporting the same order change the counters
once. A refund reverses it once, the same way.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone

from .. import signals
from ..conf import petmail_settings
from ..models import Conversion, EmailEvent, EmailSend, EventType, NewsletterSubscription
from ..models.conversions import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, REFERENCE_MAX_LENGTH
from ..subscriptions import subscription_of

logger = logging.getLogger(__name__)

CENT = Decimal(1).scaleb(-AMOUNT_DECIMAL_PLACES)
#: The first amount the field cannot hold.
AMOUNT_LIMIT = Decimal(10) ** (AMOUNT_MAX_DIGITS - AMOUNT_DECIMAL_PLACES)


def record_conversion(
    recipient: Any,
    amount: Decimal | int | float | str,
    *,
    at: datetime | None = None,
    reference: str,
    currency: str | None = None,
) -> Conversion:
    """Record a conversion of ``amount`` by ``recipient`` (an owner or a subscription) at
    ``at`` (default: now), identified by the host's ``reference`` (e.g. ``"order-42"``).

    Returns the stored :class:`~django_petmail.models.Conversion`. Calling it again with the
    same ``reference`` changes nothing and returns the conversion stored first (whatever the
    other arguments). A recipient who never subscribed, or who clicked nothing in the window,
    is stored unattributed (``send`` is ``None``).

    Raises ``ValueError`` (or ``TypeError`` for a value of the wrong type) naming the
    argument: ``amount`` negative, not finite, with more than two decimals or too large;
    ``reference`` empty or too long; ``currency`` not three letters; ``at`` naive;
    ``recipient`` neither an owner nor a subscription.
    """
    amount = clean_amount(amount)
    reference = clean_reference(reference)
    currency = clean_currency(currency)
    at = clean_moment(at)
    subscription = subscription_of(recipient, contactable=False)
    send = last_touch(subscription, at) if subscription is not None else None
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: a repeat must not spoil the caller's
                conversion = Conversion.objects.create(
                    reference=reference,
                    subscription=subscription,
                    send=send,
                    amount=amount,
                    currency=currency,
                    occurred_at=at,
                )
        except IntegrityError:
            existing = Conversion.objects.filter(reference=reference).first()
            if existing is None:  # not the reference that collided
                raise
            return existing
        if send is not None:
            send.mailing_rows().update(
                revenue_attributed=F("revenue_attributed") + amount,
                conversion_count=F("conversion_count") + 1,
            )
        signals.send_on_commit(
            signals.conversion_recorded, Conversion, conversion=conversion, send=send
        )
    return conversion


def refund_conversion(reference: str, *, at: datetime | None = None) -> Conversion | None:
    """Reverse the conversion stored under ``reference``: its amount and the conversion are
    taken off the campaign or step it was attributed to, and ``refunded_at`` is set to ``at``
    (default: now).

    Only the first refund changes anything (a conditional update decides, so two at once
    reverse it once); later ones return the conversion unchanged. Returns ``None`` when no
    conversion has that reference.
    """
    reference = clean_reference(reference)
    at = clean_moment(at)
    with transaction.atomic():
        refunded = Conversion.objects.filter(reference=reference, refunded_at__isnull=True).update(
            refunded_at=at
        )
        conversion = Conversion.objects.select_related("send").filter(reference=reference).first()
        if not refunded or conversion is None:
            return conversion
        if conversion.send is not None:
            conversion.send.mailing_rows().update(
                revenue_attributed=F("revenue_attributed") - conversion.amount,
                conversion_count=F("conversion_count") - 1,
            )
        signals.send_on_commit(
            signals.conversion_refunded, Conversion, conversion=conversion, send=conversion.send
        )
    return conversion


def last_touch(subscription: NewsletterSubscription, at: datetime) -> EmailSend | None:
    """The send a conversion at ``at`` is attributed to: the subscriber's last click within
    ``REVENUE_ATTRIBUTION_DAYS`` before ``at``; with ``REVENUE_ATTRIBUTE_OPENS``, the last
    open when there was no click. ``None`` when nothing qualifies. One query."""
    days = petmail_settings.REVENUE_ATTRIBUTION_DAYS
    if not days:
        return None
    kinds = [EventType.CLICK]
    if petmail_settings.REVENUE_ATTRIBUTE_OPENS:
        kinds.append(EventType.OPEN)
    touch = (
        EmailEvent.objects.filter(
            send__subscription=subscription,
            event_type__in=kinds,
            is_machine=False,  # a link scanner's click is nobody's interest
            occurred_at__gte=at - timedelta(days=days),
            occurred_at__lte=at,
        )
        .filter(Q(send__campaign__isnull=False) | Q(send__sequence_step__isnull=False))
        .select_related("send")
        .annotate(
            rank=Case(
                When(event_type=EventType.CLICK, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "-occurred_at", "-pk")
        .first()
    )
    return touch.send if touch is not None else None


def clean_amount(value: Any) -> Decimal:
    """A non-negative amount the ``Conversion.amount`` field can hold exactly."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise TypeError(f"amount: give a number, got {type(value).__name__}")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"amount: {value!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"amount: must be a finite number, got {value!r}")
    if amount < 0:
        raise ValueError(f"amount: must not be negative, got {value!r}")
    if amount >= AMOUNT_LIMIT:
        raise ValueError(f"amount: must be less than {AMOUNT_LIMIT}, got {value!r}")
    rounded = amount.quantize(CENT)
    if rounded != amount:
        raise ValueError(f"amount: at most {AMOUNT_DECIMAL_PLACES} decimal places, got {value!r}")
    return rounded + 0  # + 0 turns -0.00 into 0.00


def clean_reference(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"reference: give a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError("reference: must not be empty")
    if len(value) > REFERENCE_MAX_LENGTH:
        raise ValueError(f"reference: at most {REFERENCE_MAX_LENGTH} characters, got {len(value)}")
    return value


def clean_currency(value: Any) -> str:
    """``value`` upper-cased (three ASCII letters), or ``PETMAIL["CURRENCY"]`` for ``None``."""
    if value is None:
        return petmail_settings.CURRENCY
    if not isinstance(value, str) or len(value) != 3 or not value.isascii() or not value.isalpha():
        raise ValueError(f"currency: give a three-letter code such as 'EUR', got {value!r}")
    return value.upper()


def clean_moment(value: Any) -> datetime:
    if value is None:
        return timezone.now()
    if not isinstance(value, datetime):
        raise TypeError(f"at: give a datetime, got {type(value).__name__}")
    if timezone.is_naive(value):
        raise ValueError("at: give an aware datetime (with a time zone)")
    return value
