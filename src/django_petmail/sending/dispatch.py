"""Dispatch one claimed batch of a mailing (a campaign or a sequence step): re-check
eligibility, render, send over one connection, record the outcome of every send and the
mailing's counters in a few statements."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Concat
from django.utils import timezone, translation

from ..adapter import get_adapter
from ..conf import petmail_settings
from ..db import update_from_pairs
from ..links import message_links, tracking_links
from ..models import (
    ABVariant,
    BounceType,
    EmailEvent,
    EmailSend,
    EventType,
    NewsletterSubscription,
    SendStatus,
    SubscriptionStatus,
)
from ..rendering import build_contexts
from ..rendering.compose import CompiledContent, compile_content
from ..subscriptions import stop_mail
from . import ratecap
from .errors import Outcome, classify
from .mailing import Mailing
from .messages import build_marketing_message

logger = logging.getLogger(__name__)


class Renderer:
    """Compiles a mailing's content once per (variant, language) and renders recipients."""

    def __init__(self, mailing: Mailing) -> None:
        self.mailing = mailing
        self._compiled: dict[tuple[str, str], CompiledContent] = {}

    def content(self, variant: str, language: str) -> CompiledContent:
        key = (variant or ABVariant.A, language)
        if key not in self._compiled:
            with translation.override(language or None):
                self._compiled[key] = compile_content(**self.mailing.parts(variant))
        return self._compiled[key]


def recipient_context(
    subscription: NewsletterSubscription,
    send_id: int | None,
    base: dict[str, Any],
    *,
    site_url: str | None = None,
) -> dict[str, Any]:
    """The adapter/provider values plus language, links and footer data for one message.
    Pass ``site_url`` when building many (it is read from settings otherwise)."""
    site_url = site_url or get_adapter().get_site_url()
    return {
        **base,
        **message_links(subscription, send_id, site_url=site_url),
        "language": subscription.language or petmail_settings.DEFAULT_LANGUAGE,
        "site_url": site_url,
        "postal_address": petmail_settings.POSTAL_ADDRESS,
    }


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    bounced: int = 0
    skipped: int = 0
    retry: list[int] = field(default_factory=list)
    fatal: str = ""


#: The send state each recorded outcome leaves a send in.
_RECORDED_STATUS: dict[Outcome, SendStatus] = {
    Outcome.SENT: SendStatus.SENT,
    Outcome.BOUNCED: SendStatus.BOUNCED,
    Outcome.FAILED: SendStatus.FAILED,
    Outcome.SKIPPED: SendStatus.SKIPPED,
}


@dataclass
class BatchOutcomes:
    """Every message's outcome in a batch, gathered while sending and written at the end."""

    recorded: dict[int, tuple[Outcome, str, str]] = field(default_factory=dict)  # pk → (…, esp)
    retry: list[tuple[int, str]] = field(default_factory=list)  # pk, reason
    rejected: list[NewsletterSubscription] = field(default_factory=list)
    fatal: str = ""

    def add(self, pk: int, outcome: Outcome, reason: str = "", esp_id: str = "") -> None:
        if outcome in (Outcome.RETRY, Outcome.FATAL):
            self.retry.append((pk, reason))
            if outcome == Outcome.FATAL:
                self.fatal = reason
        else:
            self.recorded[pk] = (outcome, reason, esp_id)

    def give_back(self, pks: list[int], outcome: Outcome, reason: str) -> None:
        """The rest of the batch is not tried: a fatal error, or a transient one before
        anything was sent."""
        for pk in pks:
            self.add(pk, outcome, reason)


@dataclass(frozen=True)
class _Recipient:
    pk: int
    subscription: NewsletterSubscription
    ab_variant: str


def dispatch_batch(
    mailing: Mailing, send_ids: list[int], renderer: Renderer | None = None
) -> BatchResult:
    """Send one claimed batch of ``mailing``. Pass the same ``renderer`` for every batch of
    a mailing so its templates are compiled once, not once per batch."""
    now = timezone.now()
    outcomes = BatchOutcomes()
    live = _recipients(mailing, send_ids, outcomes)
    if not live and not outcomes.recorded:
        return BatchResult()
    try:
        contexts = build_contexts([s.subscription for s in live]) if live else {}
        extras = mailing.recipient_extras([s.pk for s in live]) if live else {}
        connection = get_connection()
        connection.open()
    except Exception as exc:  # a host provider or the mail server failed: keep the batch
        outcome, reason = classify(exc)
        if outcome != Outcome.RETRY:  # nothing can be sent until someone fixes it
            outcome = Outcome.FATAL
        outcomes.give_back([s.pk for s in live], outcome, reason)
        return _record(mailing, outcomes, now)
    sender = _Sender(mailing, renderer or Renderer(mailing), connection, contexts, extras)
    budget = ratecap.RateBudget(messages=len(live))
    try:
        for index, send in enumerate(live):
            try:
                budget.acquire()
                outcome, reason, esp_id = sender.send(send)
            except Exception as exc:
                outcome, reason = classify(exc)
                esp_id = ""
                if outcome == Outcome.FATAL:
                    outcomes.give_back([s.pk for s in live[index:]], outcome, reason)
                    break
            if outcome == Outcome.BOUNCED:
                outcomes.rejected.append(send.subscription)
            outcomes.add(send.pk, outcome, reason, esp_id)
    finally:
        try:
            connection.close()
        except Exception:  # closing a broken connection must not hide the batch's outcome
            logger.warning("closing the email connection failed", exc_info=True)
    return _record(mailing, outcomes, now)


def _recipients(mailing: Mailing, send_ids: list[int], outcomes: BatchOutcomes) -> list[_Recipient]:
    """The claimed sends with their recipients, re-checked: whoever unsubscribed, paused
    or got suppressed since the fan-out is recorded as skipped. One query for the sends,
    one for the recipients' rows and the eligibility check together."""
    sends = list(
        EmailSend.objects.filter(pk__in=send_ids, status=SendStatus.SENDING)
        .order_by("pk")
        .values_list("pk", "subscription_id", "ab_variant")
    )
    if not sends:
        return []
    eligible = (
        mailing.recipients()
        .select_related("owner")
        .order_by()
        .in_bulk([sub_id for _, sub_id, _ in sends if sub_id])
    )
    live = []
    for pk, sub_id, variant in sends:
        if sub_id in eligible:
            live.append(_Recipient(pk, eligible[sub_id], variant))
        else:
            outcomes.add(pk, Outcome.SKIPPED, "no longer eligible at send time")
    return live


class _Sender:
    """Renders and sends one message at a time over one open connection."""

    def __init__(
        self,
        mailing: Mailing,
        renderer: Renderer,
        connection: Any,
        contexts: dict[int, dict[str, Any]],
        extras: dict[int, dict[str, Any]],
    ) -> None:
        self.mailing = mailing
        self.extras = extras
        self.renderer = renderer
        self.connection = connection
        self.contexts = contexts
        self.site_url = get_adapter().get_site_url()
        sender = mailing.from_email or get_adapter().get_from_email()
        self.msgid_domain = sender.rpartition("@")[2].strip("> ") or None
        self.tags = [mailing.tag]
        self.metadata = mailing.metadata()

    def send(self, send: _Recipient) -> tuple[Outcome, str, str]:
        """(outcome, reason, ESP message id) of one message; raises what the backend raised."""
        sub = send.subscription
        content = self.renderer.content(send.ab_variant, sub.language)
        context = recipient_context(
            sub, send.pk, self.contexts.get(sub.pk, {}), site_url=self.site_url
        )
        if send.pk in self.extras:
            context.update(self.extras[send.pk])
        if content.tracked:
            context.update(
                tracking_links(
                    send.pk,
                    content.link_urls if content.tracks_clicks else [],
                    opens=content.tracks_opens,
                    site_url=self.site_url,
                )
            )
        with translation.override(sub.language or None):
            rendered = content.render(context)
        message = build_marketing_message(
            sub,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            send_id=send.pk,
            from_email=self.mailing.from_email or None,
            tags=self.tags,
            metadata=self.metadata,
            connection=self.connection,
            unsubscribe_link=context["unsubscribe_url"],
        )
        message.extra_headers.setdefault("Message-ID", make_msgid(domain=self.msgid_domain))
        message.send()
        status = getattr(message, "anymail_status", None)
        esp_id = str(getattr(status, "message_id", None) or message.extra_headers["Message-ID"])
        recipient = (getattr(status, "recipients", None) or {}).get(sub.email)
        if recipient is not None and recipient.status in {"rejected", "invalid"}:
            return Outcome.BOUNCED, f"rejected by the ESP ({recipient.status})", esp_id
        return Outcome.SENT, "", esp_id


def _record(mailing: Mailing, outcomes: BatchOutcomes, now: datetime) -> BatchResult:
    """Write the batch's outcome in a few statements whatever its size: the sent rows and
    their ESP ids in one ``UPDATE … FROM (VALUES …)``, one UPDATE per other outcome, error
    texts per row, rejections as events in one INSERT, counters with F().

    No event row is written for a plain send: ``sent_at`` on the send is that record, and the
    ESP's own events (delivered, opened…) arrive through the tracking webhook."""
    by_outcome: dict[Outcome, list[int]] = {}
    sent: list[tuple[int, str]] = []
    esp_ids: list[tuple[int, str]] = []
    for pk, (outcome, _, esp) in outcomes.recorded.items():
        if outcome == Outcome.SENT:
            sent.append((pk, esp))
        else:
            by_outcome.setdefault(outcome, []).append(pk)
            if esp:
                esp_ids.append((pk, esp))
    reasons = [(pk, reason) for pk, (_, reason, _) in outcomes.recorded.items() if reason]
    events = [
        EmailEvent(
            send_id=pk,
            event_type=EventType.REJECTED,
            occurred_at=now,
            description=outcomes.recorded[pk][1][:1000],
        )
        for pk in by_outcome.get(Outcome.BOUNCED, [])
    ]
    extra: dict[Outcome, dict[str, Any]] = {
        Outcome.BOUNCED: {"bounced_at": now, "bounce_type": BounceType.REJECTED},
    }
    counts: dict[Outcome, int] = {}
    retry_ids = [pk for pk, _ in outcomes.retry]
    with transaction.atomic():
        # rows reaped meanwhile (now "unknown") are not counted
        counts[Outcome.SENT] = update_from_pairs(
            EmailSend,
            "esp_message_id",
            sent,
            also={"status": SendStatus.SENT, "sent_at": now, "updated_at": now},
            increment=("attempts",),
            where={"status": SendStatus.SENDING},
        )
        if sent:
            _status_from_early_events([pk for pk, _ in sent])
        for outcome, ids in by_outcome.items():
            counts[outcome] = EmailSend.objects.filter(
                pk__in=ids, status=SendStatus.SENDING
            ).update(
                status=_RECORDED_STATUS[outcome],
                attempts=F("attempts") + 1,
                updated_at=now,
                **extra.get(outcome, {}),
            )
        update_from_pairs(EmailSend, "esp_message_id", esp_ids)
        update_from_pairs(EmailSend, "error_message", reasons + outcomes.retry)
        if events:
            EmailEvent.objects.bulk_create(events, batch_size=500)
        if outcomes.rejected:
            # refused by the ESP at send time: a permanent bounce, as if reported later
            stop_mail(
                [sub.pk for sub in outcomes.rejected],
                [sub.email for sub in outcomes.rejected],
                status=SubscriptionStatus.BOUNCED,
            )
        gave_up = retry_or_fail(retry_ids, fatal=bool(outcomes.fatal)) if retry_ids else 0
        mailing.add_to_counters(
            sent_count=counts.get(Outcome.SENT, 0),
            failed_count=counts.get(Outcome.FAILED, 0) + gave_up,
            bounce_count=counts.get(Outcome.BOUNCED, 0),
        )
    return BatchResult(
        sent=counts.get(Outcome.SENT, 0),
        failed=counts.get(Outcome.FAILED, 0) + gave_up,
        bounced=counts.get(Outcome.BOUNCED, 0),
        skipped=counts.get(Outcome.SKIPPED, 0),
        retry=retry_ids,
        fatal=outcomes.fatal,
    )


def _status_from_early_events(send_ids: list[int]) -> int:
    """Sends the ESP reported on before this batch recorded them (delivered, opened or
    clicked while still ``sending``): their status follows the furthest timestamp."""
    return (
        EmailSend.objects.filter(pk__in=send_ids, status=SendStatus.SENT)
        .filter(
            Q(delivered_at__isnull=False) | Q(opened_at__isnull=False) | Q(clicked_at__isnull=False)
        )
        .update(
            status=Case(
                When(clicked_at__isnull=False, then=Value(SendStatus.CLICKED)),
                When(opened_at__isnull=False, then=Value(SendStatus.OPENED)),
                default=Value(SendStatus.DELIVERED),
            )
        )
    )


def retry_or_fail(send_ids: list[int], *, fatal: bool = False) -> int:
    """Give transient failures back to the queue, until ``MAX_RETRIES`` attempts; returns
    how many were given up on (now ``failed``). After a fatal error no attempt is counted:
    every send waits for the mailing to be resumed."""
    now = timezone.now()
    limit = petmail_settings.MAX_RETRIES
    retrying = EmailSend.objects.filter(pk__in=send_ids, status=SendStatus.SENDING)
    gave_up = 0
    if not fatal:
        gave_up = retrying.filter(attempts__gte=limit - 1).update(
            status=SendStatus.FAILED,
            attempts=F("attempts") + 1,
            updated_at=now,
            error_message=Concat(
                Value(f"gave up after {limit} attempts; last: "), F("error_message")
            ),
        )
    retrying.update(
        status=SendStatus.PENDING,
        attempts=F("attempts") + (0 if fatal else 1),
        claimed_at=None,
        claimed_by="",
        updated_at=now,
    )
    return gave_up
