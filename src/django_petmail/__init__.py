"""django-petmail: email marketing for Django sites (subscriptions, segments, campaigns,
automated sequences, tracking and analytics)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime
    from decimal import Decimal

    from .models import Conversion

__version__ = "0.1.0"


def trigger(name: str, recipient: object, **data: object) -> object:
    """Fire the event trigger ``name`` for ``recipient`` (an owner or a subscription).

    See :func:`django_petmail.sequences.enrollment.trigger`.
    """
    # imported when called: the package root is imported before Django's apps are ready
    from .sequences.enrollment import trigger as fire

    return fire(name, recipient, **data)


def record_conversion(
    recipient: object,
    amount: Decimal | int | float | str,
    *,
    at: datetime | None = None,
    reference: str,
    currency: str | None = None,
) -> Conversion:
    """Record a conversion (an order…) and attribute it to the email that led to it.

    See :func:`django_petmail.analytics.attribution.record_conversion`.
    """
    # imported when called: the package root is imported before Django's apps are ready
    from .analytics.attribution import record_conversion as record

    return record(recipient, amount, at=at, reference=reference, currency=currency)


def refund_conversion(reference: str, *, at: datetime | None = None) -> Conversion | None:
    """Reverse the conversion recorded under ``reference`` (once).

    See :func:`django_petmail.analytics.attribution.refund_conversion`.
    """
    # imported when called: the package root is imported before Django's apps are ready
    from .analytics.attribution import refund_conversion as refund

    return refund(reference, at=at)
