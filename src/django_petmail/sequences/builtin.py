"""The triggers the package registers itself: ``signup`` (fired when a subscription is
confirmed), ``purchase`` and ``appointment`` (fired by the host), and ``inactivity``
(scheduled, from the send and event history)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from ..models import EmailSend, NewsletterSubscription, TriggerType
from .registry import TriggerKind, accept_every_event, register_trigger, sequence_triggers


def inactive_subscribers(sequence: Any, now: datetime) -> QuerySet[NewsletterSubscription]:
    """Subscribers who were mailed before the window (``days``, default 90) and have neither
    opened nor clicked anything within it: one query over the send ledger."""
    days = int((sequence.trigger_conditions or {}).get("days", 90))
    cutoff = now - timedelta(days=days)
    mailed_before = EmailSend.objects.filter(subscription=OuterRef("pk"), sent_at__lt=cutoff)
    engaged = EmailSend.objects.filter(subscription=OuterRef("pk")).filter(
        Q(opened_at__gte=cutoff) | Q(clicked_at__gte=cutoff)
    )
    return NewsletterSubscription.objects.filter(Exists(mailed_before)).exclude(Exists(engaged))


def purchase_matches(sequence: Any, data: Mapping[str, Any]) -> bool:
    """``min_amount``: only purchases of at least this amount (``data["amount"]``) enroll."""
    minimum = (sequence.trigger_conditions or {}).get("min_amount")
    if minimum is None:
        return True
    try:
        return float(data.get("amount", 0)) >= float(minimum)
    except (TypeError, ValueError):
        return False


def register_builtin_triggers() -> None:
    """Register the built-ins once (``AppConfig.ready`` may run twice in tests)."""
    builtins: list[tuple[str, Any, dict[str, Any]]] = [
        (TriggerType.SIGNUP, accept_every_event, {"kind": TriggerKind.EVENT}),
        (
            TriggerType.PURCHASE,
            purchase_matches,
            {"kind": TriggerKind.EVENT, "conditions": {"min_amount": float}},
        ),
        (TriggerType.APPOINTMENT, accept_every_event, {"kind": TriggerKind.EVENT}),
        (
            TriggerType.INACTIVITY,
            inactive_subscribers,
            {"kind": TriggerKind.SCHEDULED, "conditions": {"days": int}},
        ),
    ]
    for name, fn, meta in builtins:
        if name not in sequence_triggers:
            register_trigger(str(name), fn, label=TriggerType(name).label, **meta)
