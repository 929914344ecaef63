"""What sending does when something fails: a mail server that is down, a broken host context
provider, SES error codes, exceptions that cannot even be printed."""

import pytest
from anymail.exceptions import AnymailAPIError
from botocore.exceptions import ClientError
from django.core import mail
from django.test import override_settings

from django_petmail import campaigns
from django_petmail.models import CampaignStatus, EmailSend
from django_petmail.rendering import context_providers
from django_petmail.sending.errors import classify
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_mail_server_down_keeps_the_batch_for_later(subs, settings):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=1,
        EMAIL_TIMEOUT=1,
    ):
        result = campaigns.deliver(campaign.pk)
    assert result.more and not result.fatal
    sends = EmailSend.objects.filter(campaign=campaign)
    assert set(sends.values_list("status", flat=True)) == {"pending"}
    assert all(
        "Connection" in e or "refused" in e.lower()
        for e in sends.values_list("error_message", flat=True)
    )
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING  # retried later, not abandoned
    assert campaigns.deliver(campaign.pk).sent == 3  # the server is back


def test_a_broken_context_provider_pauses_the_campaign_and_loses_nothing(subs):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)

    def broken(batch):
        raise RuntimeError("clinic database unavailable")

    with context_providers.temporarily("broken", broken):
        result = campaigns.deliver(campaign.pk)
    assert "clinic database unavailable" in result.fatal
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert set(EmailSend.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "pending"
    }
    assert mail.outbox == []
    campaigns.resume(campaign, enqueue=False)
    assert campaigns.deliver(campaign.pk).sent == 3


def _ses_error(code: str, http: int) -> AnymailAPIError:
    cause = ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": http}},
        "SendEmail",
    )
    try:
        try:
            raise cause
        except ClientError as exc:
            raise AnymailAPIError(f"SES: {code}") from exc
    except AnymailAPIError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("code", "http", "outcome"),
    [
        ("MessageRejected", 400, "failed"),
        ("TooManyRequestsException", 429, "retry"),
        ("Throttling", 400, "retry"),
        ("InternalFailure", 500, "retry"),
        ("SendingPausedException", 400, "fatal"),
        ("AccountSuspendedException", 400, "fatal"),
        ("SomethingNew", 503, "retry"),
        ("SomethingElse", 400, "failed"),
    ],
)
def test_ses_errors_are_classified_by_their_code(code, http, outcome):
    assert classify(_ses_error(code, http))[0] == outcome


def test_an_exception_whose_text_fails_is_still_classified():
    class Weird(Exception):
        def __str__(self):
            raise ValueError("no text")

    outcome, reason = classify(Weird())
    assert outcome == "failed"
    assert reason.startswith("Weird:")
