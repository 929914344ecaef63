"""GDPR: export everything we hold about a subscriber; erase it, keeping only a suppression
hash so the address is never mailed again."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import signals
from .models import (
    SUBSCRIPTION_FIELDS,
    SUBSCRIPTION_RECORD_FIELDS,
    ConsentEvent,
    ConsentEventType,
    EmailEvent,
    EmailSend,
    NewsletterSubscription,
    Suppression,
    SuppressionReason,
    email_hash,
    normalize_email,
)
from .subscriptions import Consent, record_consent

ERASED_ADDRESS = "erased@erased.invalid"


def find_subscription(email: str) -> NewsletterSubscription | None:
    return NewsletterSubscription.objects.filter(email=normalize_email(email)).first()


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_subscriber(subscription: NewsletterSubscription) -> dict[str, Any]:
    """A JSON-ready document of the subscription, its consent history, sends and events."""
    sub_fields = (*SUBSCRIPTION_FIELDS, *SUBSCRIPTION_RECORD_FIELDS)
    sends = (
        EmailSend.objects.filter(_sends_of(subscription))
        .select_related("campaign", "sequence_step__sequence")
        .order_by("created_at", "pk")
    )
    events = EmailEvent.objects.filter(send__in=sends).order_by("timestamp", "pk")
    return {
        "exported_at": timezone.now().isoformat(),
        "subscription": {name: _iso(getattr(subscription, name)) for name in sub_fields},
        "consent_history": [
            {
                "event": e.event,
                "timestamp": _iso(e.timestamp),
                "source": e.source,
                "form": e.form,
                "ip_address": e.ip_address,
                "user_agent": e.user_agent,
                "details": e.details,
            }
            for e in subscription.consent_events.order_by("timestamp", "pk")
        ],
        "sends": [
            {
                "id": s.pk,
                "campaign": s.campaign.name if s.campaign else None,
                "sequence": str(s.sequence_step.sequence) if s.sequence_step else None,
                "email_address": s.email_address,
                "status": s.status,
                "sent_at": _iso(s.sent_at),
                "delivered_at": _iso(s.delivered_at),
                "opened_at": _iso(s.opened_at),
                "clicked_at": _iso(s.clicked_at),
                "bounced_at": _iso(s.bounced_at),
            }
            for s in sends
        ],
        "events": [
            {
                "send": e.send_id,
                "event_type": e.event_type,
                "timestamp": _iso(e.timestamp),
                "occurred_at": _iso(e.occurred_at),
                "link_url": e.link_url,
                "ip_address": e.ip_address,
                "user_agent": e.user_agent,
            }
            for e in events
        ],
    }


def _sends_of(subscription: NewsletterSubscription) -> Q:
    return Q(subscription=subscription) | Q(email_address__iexact=subscription.email)


def erase_subscriber(subscription: NewsletterSubscription, consent: Consent | None = None) -> str:
    """Anonymize sends and events, strip personal data from the consent ledger, delete the
    subscription, and keep a suppression hash. Returns the hash. All or nothing."""
    digest = email_hash(subscription.email)
    with transaction.atomic():
        Suppression.objects.get_or_create(
            email_hash=digest, defaults={"reason": SuppressionReason.ERASED}
        )
        sends = EmailSend.objects.filter(_sends_of(subscription))
        EmailEvent.objects.filter(send__in=sends).update(ip_address=None, user_agent="")
        sends.update(email_address=ERASED_ADDRESS, owner=None)
        # The ledger is append-only for everyone but erasure, which must remove what
        # identifies the person while keeping the fact that consent was given and withdrawn.
        ConsentEvent.objects.filter(subscription=subscription).update(
            ip_address=None, user_agent="", details={}
        )
        record_consent(
            subscription,
            ConsentEventType.ERASED,
            Consent(source=(consent or Consent()).source or "gdpr"),
            {"email_hash": digest},
        )
        subscription.delete()
    signals.erased.send(NewsletterSubscription, email_hash=digest)
    return digest
