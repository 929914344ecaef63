"""Dispatch one claimed batch: re-check eligibility, render, send over one connection,
record the outcome of every send and the campaign's counters in a few statements."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from email.utils import make_msgid
from typing import Any

from anymail.exceptions import (
    AnymailAPIError,
    AnymailConfigurationError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailUnsupportedFeature,
)
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Concat
from django.utils import timezone, translation

from ..adapter import get_adapter
from ..conf import petmail_settings
from ..db import update_from_pairs
from ..links import message_links
from ..models import (
    EmailCampaign,
    EmailEvent,
    EmailSend,
    EventType,
    NewsletterSubscription,
    SendStatus,
    SubscriptionStatus,
)
from ..rendering import build_contexts
from ..rendering.compose import CompiledContent, campaign_parts, compile_content
from ..segments.service import eligible_subscriptions
from ..subscriptions import stop_mail
from . import ratecap
from .messages import build_marketing_message

logger = logging.getLogger(__name__)


class CampaignRenderer:
    """Compiles a campaign's content once per (variant, language) and renders recipients."""

    def __init__(self, campaign: EmailCampaign) -> None:
        self.campaign = campaign
        self._compiled: dict[tuple[str, str], CompiledContent] = {}

    def content(self, variant: str, language: str) -> CompiledContent:
        key = (variant or "A", language)
        if key not in self._compiled:
            with translation.override(language or None):
                self._compiled[key] = compile_content(**campaign_parts(self.campaign, variant))
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


#: Amazon SES error codes (from the boto3 error anymail wraps) and what they mean for a send.
SES_RETRY = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalFailure",
        "LimitExceededException",
    }
)
SES_FATAL = frozenset(
    {
        "AccountSuspendedException",
        "SendingPausedException",
        "MailFromDomainNotVerifiedException",
        "NotFoundException",
        "AccessDeniedException",
        "UnrecognizedClientException",
    }
)


def _aws_error(exc: Exception) -> tuple[str, int | None]:
    """(error code, HTTP status) of the botocore error behind an anymail SES error."""
    cause = exc.__cause__ or exc.__context__
    response = getattr(cause, "response", None)
    if not isinstance(response, dict):
        return "", None
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code, status if isinstance(status, int) else None


def _describe(exc: Exception) -> str:
    try:
        text = str(exc)
    except Exception:  # an exception whose __str__ fails must not break the batch
        text = repr(exc)
    return f"{type(exc).__name__}: {text}"[:2000]


def _classify(exc: Exception) -> tuple[str, str]:
    """(outcome, reason): outcome is ``bounced``, ``failed``, ``retry`` or ``fatal``."""
    reason = _describe(exc)
    if isinstance(exc, AnymailRecipientsRefused | smtplib.SMTPRecipientsRefused):
        return "bounced", reason
    if isinstance(exc, AnymailInvalidAddress):
        return "failed", reason
    if isinstance(
        exc, AnymailConfigurationError | AnymailUnsupportedFeature | ImproperlyConfigured
    ):
        return "fatal", reason
    if isinstance(exc, AnymailAPIError):
        status = getattr(exc, "status_code", None)
        code, aws_status = _aws_error(exc)
        if code in SES_FATAL:
            return "fatal", reason
        if code in SES_RETRY:
            return "retry", reason
        status = status if status is not None else aws_status
        if status is None or status == 429 or status >= 500:
            return "retry", reason
        return "failed", reason
    if isinstance(exc, smtplib.SMTPResponseException):
        return ("retry" if 400 <= exc.smtp_code < 500 else "failed"), reason
    if isinstance(exc, OSError | smtplib.SMTPException):
        return "retry", reason
    return "failed", reason


@dataclass(frozen=True)
class _Recipient:
    pk: int
    subscription: NewsletterSubscription
    ab_variant: str


def dispatch_batch(
    campaign: EmailCampaign, send_ids: list[int], renderer: CampaignRenderer | None = None
) -> BatchResult:
    """Send one claimed batch. Pass the same ``renderer`` for every batch of a campaign so
    its templates are compiled once, not once per batch."""
    result = BatchResult()
    # (send id, subscription id, variant): the ledger rows are never needed as objects.
    sends = list(
        EmailSend.objects.filter(pk__in=send_ids, status=SendStatus.SENDING)
        .order_by("pk")
        .values_list("pk", "subscription_id", "ab_variant")
    )
    if not sends:
        return result
    # The eligibility re-check and the recipients' rows in one query: whoever unsubscribed,
    # paused or got suppressed since the fan-out is simply not in it.
    eligible = (
        eligible_subscriptions()
        .select_related("owner")
        .order_by()
        .in_bulk([sub_id for _, sub_id, _ in sends if sub_id])
    )
    now = timezone.now()
    outcomes: dict[int, tuple[str, str, str]] = {}  # send id → (status, reason, esp id)
    live = [
        _Recipient(pk, eligible[sub_id], variant)
        for pk, sub_id, variant in sends
        if sub_id in eligible
    ]
    for pk, sub_id, _ in sends:
        if sub_id not in eligible:
            outcomes[pk] = (SendStatus.SKIPPED, "no longer eligible at send time", "")
    renderer = renderer or CampaignRenderer(campaign)
    site_url = get_adapter().get_site_url()
    sender = campaign.from_email or get_adapter().get_from_email()
    msgid_domain = sender.rpartition("@")[2].strip("> ") or None
    rejected: list[NewsletterSubscription] = []
    retry_reasons: list[tuple[int, str]] = []
    try:
        contexts = build_contexts([s.subscription for s in live]) if live else {}
        connection = get_connection()
        connection.open()
    except Exception as exc:  # a host provider or the mail server failed: keep the batch
        outcome, reason = _classify(exc)
        result.fatal = "" if outcome == "retry" else reason
        result.retry.extend(s.pk for s in live)
        retry_reasons.extend((s.pk, reason) for s in live)
        _record(campaign, outcomes, result, rejected, retry_reasons, now)
        return result
    budget = ratecap.RateBudget(messages=len(live))
    try:
        for index, send in enumerate(live):
            sub = send.subscription
            try:
                budget.acquire()
                content = renderer.content(send.ab_variant, sub.language)
                context = recipient_context(
                    sub, send.pk, contexts.get(sub.pk, {}), site_url=site_url
                )
                with translation.override(sub.language or None):
                    rendered = content.render(context)
                message = build_marketing_message(
                    sub,
                    subject=rendered.subject,
                    html=rendered.html,
                    text=rendered.text,
                    send_id=send.pk,
                    from_email=campaign.from_email or None,
                    tags=[f"campaign-{campaign.pk}"],
                    metadata={"campaign_id": campaign.pk},
                    connection=connection,
                    unsubscribe_link=context["unsubscribe_url"],
                )
                message.extra_headers.setdefault("Message-ID", make_msgid(domain=msgid_domain))
                message.send()
            except Exception as exc:
                outcome, reason = _classify(exc)
                if outcome == "fatal":
                    result.fatal = reason
                    result.retry.extend(s.pk for s in live[index:])
                    retry_reasons.extend((s.pk, reason) for s in live[index:])
                    break
                if outcome == "retry":
                    result.retry.append(send.pk)
                    retry_reasons.append((send.pk, reason))
                    continue
                if outcome == "bounced":
                    rejected.append(sub)
                    outcomes[send.pk] = (SendStatus.BOUNCED, reason, "")
                else:
                    outcomes[send.pk] = (SendStatus.FAILED, reason, "")
                continue
            status = getattr(message, "anymail_status", None)
            esp_id = getattr(status, "message_id", None) or message.extra_headers["Message-ID"]
            recipient = (getattr(status, "recipients", None) or {}).get(sub.email)
            if recipient is not None and recipient.status in {"rejected", "invalid"}:
                rejected.append(sub)
                outcomes[send.pk] = (
                    SendStatus.BOUNCED,
                    f"rejected by the ESP ({recipient.status})",
                    str(esp_id or ""),
                )
            else:
                outcomes[send.pk] = (SendStatus.SENT, "", str(esp_id or ""))
    finally:
        try:
            connection.close()
        except Exception:  # closing a broken connection must not hide the batch's outcome
            logger.warning("closing the email connection failed", exc_info=True)
    _record(campaign, outcomes, result, rejected, retry_reasons, now)
    return result


def _record(
    campaign: EmailCampaign,
    outcomes: dict[int, tuple[str, str, str]],
    result: BatchResult,
    rejected: list[NewsletterSubscription],
    retry_reasons: list[tuple[int, str]],
    now: Any,
) -> None:
    """Write the batch's outcome in a few statements whatever its size: the sent rows and
    their ESP ids in one ``UPDATE … FROM (VALUES …)``, one UPDATE per other outcome, error
    texts per row, rejections as events in one INSERT, counters with F().

    No event row is written for a plain send: ``sent_at`` on the send is that record, and the
    ESP's own events (delivered, opened…) arrive through the tracking webhook."""
    by_status: dict[str, list[int]] = {}
    sent: list[tuple[int, str]] = []
    esp_ids: list[tuple[int, str]] = []
    for pk, (status, _, esp) in outcomes.items():
        if status == SendStatus.SENT:
            sent.append((pk, esp))
        else:
            by_status.setdefault(status, []).append(pk)
            if esp:
                esp_ids.append((pk, esp))
    reasons = [(pk, reason) for pk, (_, reason, _) in outcomes.items() if reason]
    events = [
        EmailEvent(
            send_id=pk,
            event_type=EventType.REJECTED,
            occurred_at=now,
            description=outcomes[pk][1][:1000],
        )
        for pk in by_status.get(SendStatus.BOUNCED, [])
    ]
    extra: dict[str, dict[str, Any]] = {
        SendStatus.BOUNCED: {"bounced_at": now, "bounce_type": "rejected"},
    }
    counts: dict[str, int] = {}
    with transaction.atomic():
        # rows reaped meanwhile (now "unknown") are not counted
        counts[SendStatus.SENT] = update_from_pairs(
            EmailSend,
            "esp_message_id",
            sent,
            also={"status": SendStatus.SENT, "sent_at": now, "updated_at": now},
            increment=("attempts",),
            where={"status": SendStatus.SENDING},
        )
        if sent:
            _status_from_early_events([pk for pk, _ in sent])
        for status, ids in by_status.items():
            counts[status] = EmailSend.objects.filter(pk__in=ids, status=SendStatus.SENDING).update(
                status=status,
                attempts=F("attempts") + 1,
                updated_at=now,
                **extra.get(status, {}),
            )
        update_from_pairs(EmailSend, "esp_message_id", esp_ids)
        update_from_pairs(EmailSend, "error_message", reasons + retry_reasons)
        if events:
            EmailEvent.objects.bulk_create(events, batch_size=500)
        if rejected:
            # refused by the ESP at send time: a permanent bounce, as if reported later
            stop_mail(
                [sub.pk for sub in rejected],
                [sub.email for sub in rejected],
                status=SubscriptionStatus.BOUNCED,
            )
        gave_up = _retry_or_fail(result.retry, result.fatal) if result.retry else 0
        EmailCampaign.objects.filter(pk=campaign.pk).update(
            sent_count=F("sent_count") + counts.get(SendStatus.SENT, 0),
            failed_count=F("failed_count") + counts.get(SendStatus.FAILED, 0) + gave_up,
            bounce_count=F("bounce_count") + counts.get(SendStatus.BOUNCED, 0),
            updated_at=now,
        )
    result.sent = counts.get(SendStatus.SENT, 0)
    result.failed = counts.get(SendStatus.FAILED, 0) + gave_up
    result.bounced = counts.get(SendStatus.BOUNCED, 0)
    result.skipped = counts.get(SendStatus.SKIPPED, 0)


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


def _retry_or_fail(send_ids: list[int], fatal: str) -> int:
    """Give transient failures back to the queue, until ``MAX_RETRIES`` attempts; returns
    how many were given up on (now ``failed``)."""
    now = timezone.now()
    limit = int(petmail_settings.MAX_RETRIES)
    retrying = EmailSend.objects.filter(pk__in=send_ids, status=SendStatus.SENDING)
    gave_up = 0
    if not fatal:  # a configuration error is no attempt: every send waits for the resume
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
