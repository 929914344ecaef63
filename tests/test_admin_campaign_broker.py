"""Starting, resuming or scheduling when the broker cannot be reached: a clear message, the
campaign paused with the reason, never a 500; with no worker consuming, the campaign page
says it is waiting for a worker and since when; ``SEND_IN_PROCESS`` sends without Celery."""

import logging
from datetime import timedelta

import pytest
from celery import current_app
from django.contrib.messages import constants
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from django_petmail import campaigns, receivers, signals
from django_petmail.models import (
    CampaignStatus,
    EmailCampaign,
    EmailSend,
    SendStatus,
    SequenceStep,
)
from tests.factories import CampaignFactory, SubscriptionFactory
from tests.test_admin_campaign_form import future_fields
from tests.test_admin_campaigns import CHANGELIST, campaign_form, change_url

pytestmark = pytest.mark.django_db

EN = {"accept-language": "en"}
UNREACHABLE = "redis://127.0.0.1:1/0"


def forget_connections(app):
    """Drop pooled connections made for the previous broker URL (``memory://`` in tests)."""
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def no_broker():
    """Real (not eager) task publishing to a broker nobody listens on; the tasks' app is the
    current one (another test may have made its own app current)."""
    app = current_app._get_current_object()
    names = ("task_always_eager", "broker_url", "task_publish_retry", "broker_transport_options")
    saved = {name: app.conf[name] for name in names}
    app.conf.update(
        task_always_eager=False,
        broker_url=UNREACHABLE,
        task_publish_retry=False,
        broker_transport_options={"max_retries": 0},  # fail at once, not after ~6 s of retries
    )
    forget_connections(app)
    yield app
    app.conf.update(saved)
    forget_connections(app)


@pytest.fixture
def subs():
    return SubscriptionFactory.create_batch(2)


def act(client, action, campaign):
    data = {"action": action, "_selected_action": [campaign.pk], "post": "yes"}
    response = client.post(reverse(CHANGELIST), data, follow=True, headers=EN)
    assert response.status_code == 200
    return [(m.level, m.message) for m in response.context["messages"]]


def test_send_now_without_a_broker_pauses_with_the_reason(admin_client, subs, no_broker, caplog):
    campaign = CampaignFactory()
    with caplog.at_level(logging.ERROR, logger="django_petmail.receivers"):
        [(level, message)] = act(admin_client, "start_selected", campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert "The task broker could not be reached" in campaign.paused_reason
    assert level == constants.WARNING
    assert message.startswith(f"{campaign}: paused. The task broker could not be reached")
    assert EmailSend.objects.filter(campaign=campaign, status=SendStatus.PENDING).count() == 2
    assert "workers not queued" in caplog.text
    page = admin_client.get(change_url(campaign), headers=EN).content.decode()
    assert "Paused: The task broker could not be reached" in page


def test_resume_without_a_broker_pauses_again(admin_client, subs, no_broker):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    campaigns.pause(campaign)
    [(level, message)] = act(admin_client, "resume_selected", campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert level == constants.WARNING
    assert "The task broker could not be reached" in message


def test_resume_once_the_broker_is_back_sends(admin_client, subs, no_broker):
    campaign = CampaignFactory()
    act(admin_client, "start_selected", campaign)
    no_broker.conf.task_always_eager = True  # the broker is back (eager stands in for it)
    act(admin_client, "resume_selected", campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert campaign.paused_reason == ""
    assert len(mail.outbox) == 2


def test_scheduling_needs_no_broker(admin_client, subs, no_broker):
    campaign = CampaignFactory()
    response = admin_client.post(
        change_url(campaign), campaign_form(status="scheduled", **future_fields())
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED


def test_a_sequence_step_without_a_broker_is_logged_not_raised(no_broker, caplog):
    with caplog.at_level(logging.ERROR, logger="django_petmail.receivers"):
        signals.sends_queued.send(SequenceStep, pk=0)
    assert "SequenceStep 0: workers not queued" in caplog.text


def test_in_process_sending_needs_no_broker(admin_client, subs, no_broker, settings):
    settings.PETMAIL = {**settings.PETMAIL, "SEND_IN_PROCESS": True}
    campaign = CampaignFactory()
    [(level, message)] = act(admin_client, "start_selected", campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert (level, message) == (constants.INFO, f"{campaign}: Sent")
    assert len(mail.outbox) == 2


def test_waiting_for_a_worker_is_shown_with_its_time(admin_client, subs):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)  # queued, but no worker ever picks it up
    campaign.refresh_from_db()
    assert campaigns.waiting_for_worker(campaign) == campaign.started_at
    page = admin_client.get(change_url(campaign), headers=EN).content.decode()
    assert "Waiting for a worker since" in page


def test_not_waiting_once_a_send_moved(subs):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    EmailSend.objects.filter(pk=EmailSend.objects.filter(campaign=campaign).first().pk).update(
        status=SendStatus.SENT, updated_at=timezone.now() + timedelta(seconds=1)
    )
    campaign.refresh_from_db()
    assert campaigns.waiting_for_worker(campaign) is None
    assert campaigns.waiting_for_worker(CampaignFactory()) is None  # a draft waits for nobody


def test_a_draft_page_shows_no_worker_status(admin_client):
    campaign = CampaignFactory()
    response = admin_client.get(change_url(campaign), headers=EN)
    assert "Waiting for a worker" not in response.content.decode()


def test_a_campaign_no_longer_sending_is_left_alone(no_broker):
    campaign = CampaignFactory()  # a draft: nothing to pause
    signals.sends_queued.send(EmailCampaign, pk=campaign.pk)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.paused_reason) == (CampaignStatus.DRAFT, "")
    signals.sends_queued.send(EmailCampaign, pk=0)  # gone: nothing to do


def test_other_senders_queue_nothing(no_broker):
    signals.sends_queued.send(object, pk=1)


def test_in_process_sending_of_a_sequence_step(settings, monkeypatch):
    settings.PETMAIL = {**settings.PETMAIL, "SEND_IN_PROCESS": True}
    delivered = []
    monkeypatch.setattr(receivers, "deliver_step", delivered.append)
    signals.sends_queued.send(SequenceStep, pk=7)
    assert delivered == [7]
