"""Failure paths of sending: a mail server that is down, a broken host provider, SES error
codes, reaped batches, campaigns broken after scheduling, frequency caps across campaigns."""

from datetime import timedelta

import pytest
from anymail.exceptions import AnymailAPIError
from botocore.exceptions import ClientError
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from django_petmail import campaigns
from django_petmail.models import (
    CampaignStatus,
    CustomerSegment,
    EmailCampaign,
    EmailSend,
)
from django_petmail.rendering import context_providers
from django_petmail.sending.errors import classify
from django_petmail.sending.fanout import audience
from django_petmail.tasks import reap_stuck_sends, start_due_campaigns
from tests.factories import CampaignFactory, SegmentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def subs():
    return [SubscriptionFactory(first_name=f"N{i}") for i in range(3)]


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


def test_reaping_the_last_sends_completes_the_campaign(subs, settings):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    stale = timezone.now() - timedelta(hours=2)
    EmailSend.objects.filter(campaign=campaign).update(status="sending", claimed_at=stale)
    reaped = reap_stuck_sends()
    assert len(reaped) == 3
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert set(EmailSend.objects.values_list("status", flat=True)) == {"unknown"}
    assert mail.outbox == []  # never resent


def test_a_scheduled_campaign_broken_since_goes_back_to_draft(subs):
    segment = SegmentFactory(
        rules={"operator": "AND", "conditions": [{"field": "language", "op": "eq", "value": "es"}]}
    )
    campaign = CampaignFactory(segment=segment)
    campaigns.schedule(campaign, timezone.now() + timedelta(minutes=5))
    CustomerSegment.objects.filter(pk=segment.pk).update(rules={"operator": "XOR"})
    EmailCampaign.objects.filter(pk=campaign.pk).update(
        scheduled_at=timezone.now() - timedelta(minutes=1)
    )
    assert start_due_campaigns() == []
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert not EmailSend.objects.exists()
    assert start_due_campaigns() == []  # not retried every minute


def test_weekly_cap_counts_sends_queued_by_another_campaign():
    weekly = SubscriptionFactory(frequency="weekly")
    monthly = SubscriptionFactory(frequency="monthly")
    first = CampaignFactory()
    campaigns.start(first, enqueue=False)  # queued, nothing sent yet
    second = CampaignFactory()
    reached = set(audience(second))
    assert weekly not in reached
    assert monthly not in reached  # 1 per 30 days
    campaigns.pause(first)
    campaigns.cancel(first)
    assert set(audience(second)) == {weekly, monthly}


def test_variant_b_text_is_derived_from_its_own_content():
    sub = SubscriptionFactory(first_name="Ana")
    campaign = CampaignFactory(
        html_content="<p>Contenido A</p>",
        text_content="Texto A",
        is_ab_test=True,
        ab_subject_b="Asunto B",
        ab_html_content_b="<p>Contenido B</p>",
    )
    preview_b = campaigns.preview(campaign, subscription=sub, variant="B")
    assert "Contenido B" in preview_b["text"]
    assert "Texto A" not in preview_b["text"]
    assert "Texto A" in campaigns.preview(campaign, subscription=sub)["text"]


def test_api_preview_with_a_chosen_subscriber(admin_user):
    chosen = SubscriptionFactory(first_name="Elegida")
    SubscriptionFactory(first_name="Otra")
    campaign = CampaignFactory(subject="Hola {{ first_name }}")
    client = APIClient()
    client.force_authenticate(admin_user)
    url = f"/petmail/api/campaigns/{campaign.pk}/preview/"
    assert client.get(url, {"subscription": chosen.pk}).json()["subject"] == "Hola Elegida"
    for bad in ("999999", "abc", "-1"):
        response = client.get(url, {"subscription": bad})
        assert response.status_code == 400
        assert "subscription" in response.json()


def test_admin_locks_the_content_of_a_sending_campaign(admin_client, subs):
    campaign = CampaignFactory(subject="Original")
    campaigns.start(campaign, enqueue=False)
    url = f"/admin/django_petmail/emailcampaign/{campaign.pk}/change/"
    response = admin_client.get(url)
    assert response.status_code == 200
    assert 'name="subject"' not in response.content.decode()
    admin_client.post(url, {"name": campaign.name, "subject": "Changed"})
    campaign.refresh_from_db()
    assert campaign.subject == "Original"


def test_a_campaign_whose_tasks_were_lost_is_resumed(subs):
    from django_petmail.tasks import resume_stalled_campaigns

    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)  # as if the queued tasks never ran
    assert resume_stalled_campaigns() == []  # recent activity: maybe just slow
    EmailSend.objects.filter(campaign=campaign).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )
    assert resume_stalled_campaigns() == [campaign.pk]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT  # eager tasks drained it
    assert len(mail.outbox) == 3
    assert resume_stalled_campaigns() == []


def test_paused_campaigns_are_not_resumed(subs):
    from django_petmail.tasks import resume_stalled_campaigns

    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    campaigns.pause(campaign)
    EmailSend.objects.filter(campaign=campaign).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )
    assert resume_stalled_campaigns() == []
    assert mail.outbox == []
