"""What an exception raised while sending means for the send: the one classifier.

Each ESP's error codes have their home here, beside the generic rules: Amazon SES's tables
first (from the botocore error anymail wraps). Another ESP's codes get a table and a line in
:func:`_esp_outcome`; nothing else in the pipeline changes.
"""

from __future__ import annotations

import smtplib
from enum import StrEnum

from anymail.exceptions import (
    AnymailAPIError,
    AnymailConfigurationError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailUnsupportedFeature,
)
from django.core.exceptions import ImproperlyConfigured


class Outcome(StrEnum):
    """What happened to one message of a batch."""

    SENT = "sent"  # the ESP accepted it
    BOUNCED = "bounced"  # the ESP refused the recipient: a permanent bounce
    FAILED = "failed"  # this message cannot be sent (bad address, permanent error)
    SKIPPED = "skipped"  # no longer eligible at send time
    RETRY = "retry"  # transient: given back to the queue, tried again later
    FATAL = "fatal"  # the account or configuration is broken: stop the whole mailing


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


def describe(exc: Exception) -> str:
    """``Type: text`` of an exception, bounded; never raises."""
    try:
        text = str(exc)
    except Exception:  # an exception whose __str__ fails must not break the batch
        text = repr(exc)
    return f"{type(exc).__name__}: {text}"[:2000]


def _esp_outcome(exc: AnymailAPIError) -> Outcome:
    code, aws_status = _aws_error(exc)
    if code in SES_FATAL:
        return Outcome.FATAL
    if code in SES_RETRY:
        return Outcome.RETRY
    status = getattr(exc, "status_code", None)
    status = status if status is not None else aws_status
    if status is None or status == 429 or status >= 500:
        return Outcome.RETRY
    return Outcome.FAILED


def classify(exc: Exception) -> tuple[Outcome, str]:
    """(outcome, reason) of an exception raised while sending one message."""
    reason = describe(exc)
    if isinstance(exc, AnymailRecipientsRefused | smtplib.SMTPRecipientsRefused):
        return Outcome.BOUNCED, reason
    if isinstance(exc, AnymailInvalidAddress):
        return Outcome.FAILED, reason
    if isinstance(
        exc, AnymailConfigurationError | AnymailUnsupportedFeature | ImproperlyConfigured
    ):
        return Outcome.FATAL, reason
    if isinstance(exc, AnymailAPIError):
        return _esp_outcome(exc), reason
    if isinstance(exc, smtplib.SMTPResponseException):
        return (Outcome.RETRY if 400 <= exc.smtp_code < 500 else Outcome.FAILED), reason
    if isinstance(exc, OSError | smtplib.SMTPException):
        return Outcome.RETRY, reason
    return Outcome.FAILED, reason
