"""End to end through anymail's Amazon SES backend against moto: real boto3 request
building and response parsing, SES itself replaced by moto's in-process fake."""

import boto3
import pytest
from django.test import override_settings
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sesv2.models import sesv2_backends

from django_petmail import campaigns
from django_petmail.models import EmailSend
from tests.factories import CampaignFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

REGION = "eu-west-1"


@pytest.fixture
def ses(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        client.create_email_identity(EmailIdentity="huellas.example")
        yield sesv2_backends[DEFAULT_ACCOUNT_ID][REGION]


def test_campaign_through_anymail_amazon_ses(ses, settings):
    subs = [SubscriptionFactory(email=f"ses{i}@example.com", first_name=f"S{i}") for i in range(3)]
    campaign = CampaignFactory(subject="Hola {{ first_name }}", html_content="<p>Hola</p>")
    with override_settings(
        EMAIL_BACKEND="anymail.backends.amazon_ses.EmailBackend",
        ANYMAIL={"AMAZON_SES_CLIENT_PARAMS": {"region_name": REGION}},
    ):
        assert campaigns.start(campaign) == 3
    sends = list(EmailSend.objects.filter(campaign=campaign).order_by("pk"))
    assert {s.status for s in sends} == {"sent"}
    # SES message ids returned by the (fake) API are stored for webhook matching
    assert all(s.esp_message_id and "@" not in s.esp_message_id for s in sends)
    sent = ses.core_backend.sent_messages
    assert len(sent) == 3
    raw = [m.raw_data for m in sent]
    assert all("List-Unsubscribe-Post: List-Unsubscribe=One-Click" in r for r in raw)
    per_message = [set(m.destinations) for m in sent]
    assert all(len(d) == 1 for d in per_message)  # one recipient per message
    assert sorted(d for ds in per_message for d in ds) == sorted(s.email for s in subs)
