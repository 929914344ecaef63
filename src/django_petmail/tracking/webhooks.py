"""anymail's webhook views, refusing unreadable payloads with a 400 instead of a 500.

anymail answers a request it cannot authenticate or whose SNS headers do not match with a
400, but a body that is not JSON, an SNS ``Message`` that is not an SES event, or an event
missing the fields of its type raises an ordinary exception in its parser: a 500, which an
ESP takes for "try again later" and redelivers for days. Such a payload will never become
readable, so it is refused as the sender's error. Errors after parsing (in the receiver,
e.g. the database being down) still give a 500, so the ESP retries those.

:class:`IdentifySESEvents` gives each SES event an id of its own (anymail takes the SNS
message's), so the ledger stores an event once however many SNS messages carry it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpResponse
from django.utils.dateparse import parse_datetime

from ..conf import petmail_settings
from . import sns

logger = logging.getLogger(__name__)

#: What anymail's parsers raise on a payload of the wrong shape.
UNREADABLE = (AnymailError, KeyError, TypeError, ValueError, AttributeError, IndexError)


class RefuseUnreadable:
    """Mixin for an anymail webhook view (put it first in the bases)."""

    def run_validators(self, request: Any) -> None:
        try:
            super().run_validators(request)  # type: ignore[misc]
        except AnymailWebhookValidationFailure:
            raise  # already a 400 (SuspiciousOperation)
        except UNREADABLE as exc:
            raise BadRequest(f"Unreadable webhook payload: {exc}") from exc

    def parse_events(self, request: Any) -> Any:
        try:
            return super().parse_events(request)  # type: ignore[misc]
        except AnymailWebhookValidationFailure:
            raise
        except UNREADABLE as exc:
            raise BadRequest(f"Unreadable webhook payload: {exc}") from exc


class VerifySNS:
    """Mixin for anymail's Amazon SES webhook views: size limit, SNS signature, topic
    allow-list, replays, and subscription confirmations only for allowed topics.

    * a body over ``PETMAIL["WEBHOOK_MAX_BYTES"]`` is answered 413 before it is read;
    * after anymail's own validators (basic auth, SNS headers), the message must pass
      :func:`sns.verify` when ``PETMAIL["SNS_VERIFY_SIGNATURES"]`` is on, and its topic must
      be allowed in any case; then a ``MessageId`` already accepted is a replay; all 400;
    * anymail confirms a ``SubscriptionConfirmation`` by itself (its
      ``AUTO_CONFIRM_SNS_SUBSCRIPTIONS``); here only for a topic listed in
      ``PETMAIL["SNS_TOPIC_ARNS"]``, or any topic while that list is empty and ``DEBUG`` is
      on. Others are refused (400) and logged with the topic, to list it or confirm by hand.
    """

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads nothing of a body whose length it cannot parse
        if length > petmail_settings.WEBHOOK_MAX_BYTES:
            return HttpResponse(status=413)
        try:
            return super().post(request, *args, **kwargs)  # type: ignore[misc]
        except Exception:
            message_id = getattr(request, "_petmail_sns_id", None)
            if message_id:
                sns.forget(message_id)  # not processed: SNS's retry must get through
            raise

    def run_validators(self, request: Any) -> None:
        super().run_validators(request)  # type: ignore[misc]
        # a dict by now: anymail's validators refused anything else
        message = self._parse_sns_message(request)  # type: ignore[attr-defined]
        if petmail_settings.SNS_VERIFY_SIGNATURES:
            sns.verify(message)
        elif not sns.topic_allowed(message.get("TopicArn")):
            raise sns.SNSVerificationError(f"SNS topic {message.get('TopicArn')!r} is not allowed")
        message_id = str(message.get("MessageId"))
        if not sns.first_sighting(message_id):
            raise sns.SNSVerificationError(f"SNS message {message_id} was received already")
        request._petmail_sns_id = message_id

    def auto_confirm_sns_subscription(self, sns_message: dict[str, Any]) -> None:
        topic = sns_message.get("TopicArn")
        listed = topic in petmail_settings.SNS_TOPIC_ARNS
        if not listed and not (settings.DEBUG and not petmail_settings.SNS_TOPIC_ARNS):
            logger.warning(
                "Refused to confirm the SNS subscription to topic %s: add it to "
                'PETMAIL["SNS_TOPIC_ARNS"], or confirm it in the SNS console.',
                topic,
            )
            raise sns.SNSVerificationError(f"SNS topic {topic!r} is not allowed to subscribe")
        super().auto_confirm_sns_subscription(sns_message)  # type: ignore[misc]


class IdentifySESEvents:
    """Mixin for anymail's Amazon SES tracking view: an event's id and time are the SES
    event's, not those of the SNS message that carried it.

    anymail takes the SNS ``MessageId`` as the event id. SNS redelivers a message with its
    ``MessageId`` (a replay, refused by :class:`VerifySNS`), but SES publishes each event at
    least once: the same event can come again in a *new* SNS message, which SNS signs and
    the webhook accepts. Its id is therefore a digest of the SES event itself (its JSON,
    keys sorted) and the recipient, so ``EmailEvent.esp_event_id`` stores it once. Its time
    is the SES event's ``timestamp`` (when the delivery, open, click, bounce or complaint
    happened), falling back to the SNS message's.
    """

    def esp_to_anymail_events(self, ses_event: Any, sns_message: Any) -> Any:
        events = super().esp_to_anymail_events(ses_event, sns_message)  # type: ignore[misc]
        content = json.dumps(ses_event, sort_keys=True, separators=(",", ":"), default=str)
        when = _ses_timestamp(ses_event)
        for event in events:
            key = f"{content}\n{event.recipient}".encode()
            event.event_id = "ses:" + hashlib.sha256(key).hexdigest()
            if when is not None:
                event.timestamp = when
        return events


def _ses_timestamp(ses_event: dict[str, Any]) -> Any:
    """The time inside the SES event's own object (``delivery.timestamp``, …), or ``None``."""
    kind = str(ses_event.get("eventType") or ses_event.get("notificationType") or "")
    detail = ses_event.get(kind.lower())
    value = detail.get("timestamp") if isinstance(detail, dict) else None
    try:
        return parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well formed but impossible, e.g. month 13
        return None


class SESTrackingWebhookView(
    RefuseUnreadable, VerifySNS, IdentifySESEvents, AmazonSESTrackingWebhookView
):
    """Amazon SES tracking notifications (SNS), as anymail's view, minus its 500s, with the
    SNS signature checked (:class:`VerifySNS`) and each SES event identified by its content
    (:class:`IdentifySESEvents`)."""
