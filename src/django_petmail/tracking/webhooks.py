"""anymail's webhook views, refusing unreadable payloads with a 400 instead of a 500.

anymail answers a request it cannot authenticate or whose SNS headers do not match with a
400, but a body that is not JSON, an SNS ``Message`` that is not an SES event, or an event
missing the fields of its type raises an ordinary exception in its parser: a 500, which an
ESP takes for "try again later" and redelivers for days. Such a payload will never become
readable, so it is refused as the sender's error. Errors after parsing (in the receiver,
e.g. the database being down) still give a 500, so the ESP retries those.
"""

from __future__ import annotations

import logging
from typing import Any

from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpResponse

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


class SESTrackingWebhookView(RefuseUnreadable, VerifySNS, AmazonSESTrackingWebhookView):
    """Amazon SES tracking notifications (SNS), as anymail's view, minus its 500s, with the
    SNS signature checked (:class:`VerifySNS`)."""
