"""The subscription lifecycle: subscribe → confirm → preferences → unsubscribe.

Every change writes a row in the consent ledger in the same transaction, and every status
move is a conditional update, so two clicks on the same link (or a link and an ESP report
racing) change state once.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import signals
from .adapter import get_adapter
from .conf import get_owner_model, petmail_settings
from .emails import send_confirmation_email
from .models import (
    ConsentEvent,
    ConsentEventType,
    EmailEvent,
    EmailSend,
    EventType,
    NewsletterSubscription,
    SendStatus,
    SequenceEnrollment,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    email_hash,
    normalize_email,
)
from .ratelimit import hit

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Consent:
    """Who asked, from where, through which form: stored with every ledger row."""

    source: str = ""
    form: str = ""
    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest | None, source: str = "", form: str = "") -> Consent:
        if request is None:
            return cls(source=source, form=form)
        ip = request.META.get("REMOTE_ADDR") or None
        return cls(
            source=source,
            form=form or petmail_settings.CONSENT_FORM_VERSION,
            ip=ip,
            user_agent=(request.META.get("HTTP_USER_AGENT") or "")[:500],
        )


def record_consent(
    subscription: NewsletterSubscription | None,
    event: str,
    consent: Consent,
    details: dict[str, Any] | None = None,
) -> ConsentEvent:
    return ConsentEvent.objects.create(
        subscription=subscription,
        event=event,
        source=consent.source[:100],
        form=consent.form[:100],
        ip_address=consent.ip,
        user_agent=consent.user_agent[:500],
        details=details or {},
    )


def clean_name(value: str) -> str:
    """One line of printable text: header-safe wherever a name ends up."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value or "").split())


class SubscribeOutcome(enum.Enum):
    """What happened — for logs, tests and the API's staff view, never shown to the public
    (every outcome gets the same public answer, so addresses cannot be enumerated)."""

    CREATED = "created"
    RESENT = "resent"
    REOPENED = "reopened"
    ALREADY_ACTIVE = "already_active"
    REFUSED = "refused"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class SubscribeResult:
    outcome: SubscribeOutcome
    subscription: NewsletterSubscription | None


def subscribe(
    email: str,
    *,
    first_name: str = "",
    topics: list[str] | None = None,
    frequency: str | None = None,
    language: str | None = None,
    consent: Consent | None = None,
    request: HttpRequest | None = None,
) -> SubscribeResult:
    """Start double opt-in for ``email``.

    New and previously unsubscribed addresses become ``pending`` and get a confirmation
    email; pending ones get it again (within the per-address rate); active ones are left
    alone; bounced, complained and erased addresses are never reactivated.
    """
    email = normalize_email(email)
    validate_email(email)
    consent = consent or Consent()
    if not consent.form:
        consent = dataclasses.replace(consent, form=petmail_settings.CONSENT_FORM_VERSION)
    first_name = clean_name(first_name)[:100]
    if Suppression.is_suppressed(email):
        return SubscribeResult(SubscribeOutcome.REFUSED, None)
    if not hit("address", email, petmail_settings.SUBSCRIBE_RATE_LIMIT_PER_ADDRESS):
        return SubscribeResult(SubscribeOutcome.THROTTLED, None)

    prefs: dict[str, Any] = {
        "frequency": frequency or "weekly",
        "topics": list(topics) if topics is not None else petmail_settings.DEFAULT_TOPICS,
        "language": language or petmail_settings.DEFAULT_LANGUAGE,
    }
    try:
        with transaction.atomic():
            result = _subscribe_locked(email, first_name, prefs, consent)
    except IntegrityError:
        # A concurrent request created the same address first; treat it as existing.
        with transaction.atomic():
            result = _subscribe_locked(email, first_name, prefs, consent)
    if result.outcome in {
        SubscribeOutcome.CREATED,
        SubscribeOutcome.RESENT,
        SubscribeOutcome.REOPENED,
    }:
        assert result.subscription is not None
        sub = result.subscription
        transaction.on_commit(lambda: _send_confirmation(sub, request))
        if result.outcome is not SubscribeOutcome.RESENT:
            signals.subscribed.send(NewsletterSubscription, subscription=sub, request=request)
    return result


def _subscribe_locked(
    email: str, first_name: str, prefs: dict[str, Any], consent: Consent
) -> SubscribeResult:
    existing = NewsletterSubscription.objects.select_for_update().filter(email=email).first()
    if existing is None:
        sub = NewsletterSubscription(
            email=email,
            first_name=first_name,
            status=SubscriptionStatus.PENDING,
            source=consent.source[:100],
            consent_form=consent.form[:100],
            ip_address=consent.ip,
            user_agent=consent.user_agent[:500],
            **prefs,
        )
        sub.owner = _unclaimed_owner(email)
        sub.save()
        record_consent(sub, ConsentEventType.SUBSCRIBED, consent, {"preferences": prefs})
        return SubscribeResult(SubscribeOutcome.CREATED, sub)
    if existing.status == SubscriptionStatus.PENDING:
        return SubscribeResult(SubscribeOutcome.RESENT, existing)
    if existing.status == SubscriptionStatus.ACTIVE:
        return SubscribeResult(SubscribeOutcome.ALREADY_ACTIVE, existing)
    if existing.status == SubscriptionStatus.UNSUBSCRIBED:
        existing.status = SubscriptionStatus.PENDING
        existing.confirmed_at = None
        existing.unsubscribed_at = None
        existing.is_paused = False
        existing.first_name = first_name or existing.first_name
        existing.source = consent.source[:100]
        existing.consent_form = consent.form[:100]
        existing.ip_address = consent.ip
        existing.user_agent = consent.user_agent[:500]
        for key, value in prefs.items():
            setattr(existing, key, value)
        existing.save()
        record_consent(
            existing, ConsentEventType.SUBSCRIBED, consent, {"preferences": prefs, "again": True}
        )
        return SubscribeResult(SubscribeOutcome.REOPENED, existing)
    return SubscribeResult(SubscribeOutcome.REFUSED, existing)  # bounced or complained


def subscription_of(recipient: Any, *, contactable: bool = True) -> NewsletterSubscription | None:
    """The subscription an owner or a subscription stands for; ``None`` for an owner who never
    subscribed.

    With ``contactable`` (sequences, which must write to someone) a subscription without an
    address, or an owner with neither a subscription nor an address, is a ``ValueError``;
    without it (a conversion, which only needs to know who) they are accepted. Anything but
    an owner or a subscription is a ``TypeError``. Both name ``recipient``.
    """
    if isinstance(recipient, NewsletterSubscription):
        if not recipient.pk:
            raise ValueError("recipient: the subscription is not saved")
        if contactable and not recipient.email:
            raise ValueError("recipient: the subscription has no email address")
        return recipient
    if isinstance(recipient, get_owner_model()):
        if recipient.pk is None:
            raise ValueError("recipient: the owner is not saved")
        subscription = NewsletterSubscription.objects.filter(owner=recipient).first()
        if subscription is None and contactable and not get_adapter().get_owner_email(recipient):
            raise ValueError("recipient: the owner has no email address")
        return subscription
    raise TypeError(
        f"recipient: give an owner or a NewsletterSubscription, got {type(recipient).__name__}"
    )


def _unclaimed_owner(email: str) -> Any:
    owner = get_adapter().get_owner_for_email(email)
    if owner is None or NewsletterSubscription.objects.filter(owner=owner).exists():
        return None
    return owner


def _send_confirmation(subscription: NewsletterSubscription, request: HttpRequest | None) -> None:
    try:
        send_confirmation_email(subscription, request=request)
    except Exception:  # the subscriber can ask again; a mail outage must not become a 500
        logger.exception(
            "Could not send the confirmation email to subscription %s", subscription.pk
        )


class ConfirmOutcome(enum.Enum):
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    NOT_PENDING = "not_pending"


def confirm(
    subscription: NewsletterSubscription,
    consent: Consent | None = None,
    request: HttpRequest | None = None,
) -> ConfirmOutcome:
    """Activate a pending subscription once; replays are harmless."""
    consent = consent or Consent()
    now = timezone.now()
    with transaction.atomic():
        changed = NewsletterSubscription.objects.filter(
            pk=subscription.pk, status=SubscriptionStatus.PENDING
        ).update(
            status=SubscriptionStatus.ACTIVE,
            confirmed_at=now,
            ip_address=consent.ip,
            user_agent=consent.user_agent[:500],
            updated_at=now,
        )
        subscription.refresh_from_db()
        if not changed:
            if subscription.status == SubscriptionStatus.ACTIVE:
                return ConfirmOutcome.ALREADY_CONFIRMED
            return ConfirmOutcome.NOT_PENDING
        record_consent(subscription, ConsentEventType.CONFIRMED, consent)
    signals.confirmed.send(NewsletterSubscription, subscription=subscription, request=request)
    return ConfirmOutcome.CONFIRMED


PREFERENCE_FIELDS = ("frequency", "topics", "language", "is_paused")


def _differs(name: str, old: Any, new: Any) -> bool:
    if name == "topics":  # a set: the order checkboxes arrive in is not a change
        return set(old or []) != set(new or [])
    return bool(old != new)


def update_preferences(
    subscription: NewsletterSubscription,
    consent: Consent | None = None,
    **values: Any,
) -> dict[str, tuple[Any, Any]]:
    """Change frequency, topics, language or pause; returns ``{field: (old, new)}``."""
    unknown = set(values) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ValueError(f"Not preference fields: {sorted(unknown)}")
    consent = consent or Consent()
    with transaction.atomic():
        locked = NewsletterSubscription.objects.select_for_update().get(pk=subscription.pk)
        changes = {
            name: (getattr(locked, name), value)
            for name, value in values.items()
            if _differs(name, getattr(locked, name), value)
        }
        if not changes:
            return {}
        for name, (_, new) in changes.items():
            setattr(locked, name, new)
        locked.save(update_fields=[*changes, "updated_at"])
        record_consent(
            locked,
            ConsentEventType.PREFERENCES_CHANGED,
            consent,
            {name: {"old": old, "new": new} for name, (old, new) in changes.items()},
        )
    for name, (_, new) in changes.items():
        setattr(subscription, name, new)
    signals.preferences_changed.send(
        NewsletterSubscription, subscription=subscription, changes=changes
    )
    return changes


def unsubscribe(
    subscription: NewsletterSubscription,
    *,
    source: str,
    reason: str = "",
    send_id: int | None = None,
    consent: Consent | None = None,
    event_recorded: bool = False,
) -> bool:
    """Stop all marketing mail to this subscription now. ``False`` if it had already left.

    Attributes the unsubscribe to the send it came from (its status, an event, the
    campaign's counter) and cancels active enrollments in marketing sequences. With
    ``event_recorded`` the caller has stored the send's unsubscribe event already (an ESP
    report, with the ESP's event id), so no second one is made.
    """
    consent = consent or Consent(source=source)
    now = timezone.now()
    reason = clean_name(reason)[:255]
    with transaction.atomic():
        changed = NewsletterSubscription.objects.filter(
            pk=subscription.pk,
            status__in=[SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE],
        ).update(
            status=SubscriptionStatus.UNSUBSCRIBED,
            unsubscribed_at=now,
            unsubscribe_reason=reason,
            unsubscribe_source=source,
            updated_at=now,
        )
        if not changed:
            return False
        subscription.refresh_from_db()
        record_consent(
            subscription,
            ConsentEventType.UNSUBSCRIBED,
            consent,
            {"reason": reason, "send": send_id} if send_id else {"reason": reason},
        )
        cancel_enrollments(subscription, reason="unsubscribed")
        if send_id is not None:
            _attribute_to_send(subscription, send_id, now, create_event=not event_recorded)
    signals.unsubscribed.send(
        NewsletterSubscription, subscription=subscription, source=source, reason=reason
    )
    return True


def cancel_enrollments(subscription: NewsletterSubscription, *, reason: str) -> int:
    """Cancel the subscriber's active or paused enrollments in marketing sequences."""
    who = Q(subscription=subscription)
    if subscription.owner_id:
        who |= Q(owner_id=subscription.owner_id)
    return _cancel_enrollments(who, reason=reason, marketing_only=True)


def _cancel_enrollments(who: Q, *, reason: str, marketing_only: bool) -> int:
    enrollments = SequenceEnrollment.objects.filter(who)
    if marketing_only:
        enrollments = enrollments.filter(sequence__is_marketing=True)
    return enrollments.cancel(reason=reason)


#: What ends an address for good, and the suppression reason it is recorded under.
_STOP_REASONS: dict[str, str] = {
    SubscriptionStatus.BOUNCED: SuppressionReason.BOUNCED,
    SubscriptionStatus.COMPLAINED: SuppressionReason.COMPLAINED,
}


def stop_mail(subscription_ids: Iterable[int], emails: Iterable[str], *, status: str) -> None:
    """No more mail to these addresses, ever: a permanent bounce (at send time or reported
    later by the ESP) or a spam complaint.

    The subscriptions leave (``status``: ``bounced`` or ``complained``; a complaint also
    ends an unsubscribed or bounced one), every sequence enrollment of theirs is cancelled,
    marketing or not, and the addresses' hashes are suppressed, which survives erasure. A
    few statements whatever the number of addresses.
    """
    reason = _STOP_REASONS[status]
    ids = sorted(set(subscription_ids))
    leaving = [SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE]
    if status == SubscriptionStatus.COMPLAINED:
        leaving += [SubscriptionStatus.UNSUBSCRIBED, SubscriptionStatus.BOUNCED]
    if ids:
        NewsletterSubscription.objects.filter(pk__in=ids, status__in=leaving).update(
            status=status, updated_at=timezone.now()
        )
        owners = NewsletterSubscription.objects.filter(pk__in=ids, owner__isnull=False)
        _cancel_enrollments(
            Q(subscription_id__in=ids) | Q(owner_id__in=owners.values("owner_id")),
            reason=status,
            marketing_only=False,
        )
    Suppression.objects.bulk_create(
        [Suppression(email_hash=h, reason=reason) for h in {email_hash(e) for e in emails if e}],
        ignore_conflicts=True,
    )


def suppress(email: str, *, source: str, consent: Consent | None = None) -> bool:
    """Never mail this address again, by a staff decision: as ``stop_mail`` does for a
    bounce, its subscription leaves (unsubscribed, recorded in the consent ledger), every
    enrollment of theirs is cancelled, marketing or not, and the address's hash is
    suppressed (``manual``), which survives erasure. ``False`` if it was suppressed already.
    """
    email = normalize_email(email)
    digest = email_hash(email)
    with transaction.atomic():
        already = Suppression.objects.filter(email_hash=digest).exists()
        Suppression.objects.bulk_create(  # a concurrent suppression of the address is kept
            [Suppression(email_hash=digest, reason=SuppressionReason.MANUAL)],
            ignore_conflicts=True,
        )
        subscription = NewsletterSubscription.objects.filter(email=email).first()
        if subscription is not None:
            unsubscribe(subscription, source=source, reason="suppressed", consent=consent)
            who = Q(subscription=subscription)
            if subscription.owner_id is not None:
                who |= Q(owner_id=subscription.owner_id)
            _cancel_enrollments(who, reason="suppressed", marketing_only=False)
    return not already


def _attribute_to_send(
    subscription: NewsletterSubscription, send_id: int, now: Any, *, create_event: bool
) -> None:
    send = EmailSend.objects.filter(pk=send_id, subscription=subscription).first()
    if send is None:
        return
    EmailSend.objects.filter(pk=send.pk).update(status=SendStatus.UNSUBSCRIBED, updated_at=now)
    if create_event:
        EmailEvent.objects.create(send=send, event_type=EventType.UNSUBSCRIBE, occurred_at=now)
    send.mailing_rows().update(unsubscribe_count=F("unsubscribe_count") + 1)
