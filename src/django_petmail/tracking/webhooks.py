"""anymail's webhook views, refusing unreadable payloads with a 400 instead of a 500.

anymail answers a request it cannot authenticate or whose SNS headers do not match with a
400, but a body that is not JSON, an SNS ``Message`` that is not an SES event, or an event
missing the fields of its type raises an ordinary exception in its parser: a 500, which an
ESP takes for "try again later" and redelivers for days. Such a payload will never become
readable, so it is refused as the sender's error. Errors after parsing (in the receiver,
e.g. the database being down) still give a 500, so the ESP retries those.
"""

from __future__ import annotations

from typing import Any

from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from django.core.exceptions import BadRequest

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


class SESTrackingWebhookView(RefuseUnreadable, AmazonSESTrackingWebhookView):
    """Amazon SES tracking notifications (SNS), as anymail's view, minus its 500s."""
