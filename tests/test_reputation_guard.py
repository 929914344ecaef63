"""The reputation guard: a sending campaign or an active sequence whose bounce rate reaches
``REPUTATION_BOUNCE_RATE`` (5 %) or complaint rate ``REPUTATION_COMPLAINT_RATE`` (0.1 %),
after ``REPUTATION_MIN_SENT`` sends, pauses itself once, says why (admin, API, signal)."""

import pytest
from django.test import override_settings
from django.utils import translation

from django_petmail import campaigns, signals
from django_petmail.models import (
    AutomatedSequence,
    CampaignStatus,
    EmailCampaign,
    SendStatus,
)
from django_petmail.tracking.reputation import reason
from tests.factories import CampaignFactory, SendFactory, StepFactory, SubscriptionFactory
from tests.test_tracking import post, ses_event

pytestmark = pytest.mark.django_db


def campaign_with(sent, bounces=0, complaints=0):
    return CampaignFactory(
        status=CampaignStatus.SENDING,
        sent_count=sent,
        bounce_count=bounces,
        complaint_count=complaints,
    )


def report(mailing, kind, **send_fields):
    """One more bounce or complaint about a new send of ``mailing``."""
    if isinstance(mailing, EmailCampaign):
        send_fields["campaign"] = mailing
    else:
        send_fields.update(campaign=None, sequence_step=mailing)
    send = SendFactory(subscription=SubscriptionFactory(), status=SendStatus.SENT, **send_fields)
    assert post(ses_event(send, kind)).status_code == 200
    return send


@pytest.mark.parametrize(
    ("counters", "kind", "metric"),
    [
        ({"sent": 200, "bounces": 9}, "Bounce", "bounce_rate"),  # 10 / 200 = 5 %
        ({"sent": 1000}, "Complaint", "complaint_rate"),  # 1 / 1000 = 0.1 %
    ],
)
def test_crossing_a_threshold_pauses_the_campaign_once(catch_signal, counters, kind, metric):
    paused = catch_signal(signals.reputation_paused)
    campaign = campaign_with(**counters)
    report(campaign, kind)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert campaign.paused_reason
    assert len(paused) == 1
    assert paused[0]["obj"] == campaign and paused[0]["metric"] == metric
    assert paused[0]["rate"] >= paused[0]["threshold"]
    report(campaign, kind)  # more bad news while paused: nothing more happens
    assert len(paused) == 1


def test_just_below_the_threshold_nothing_happens(catch_signal):
    paused = catch_signal(signals.reputation_paused)
    campaign = campaign_with(sent=1000, bounces=48)  # 49 / 1000 = 4.9 %
    report(campaign, "Bounce")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING and paused == []


def test_below_the_minimum_of_sends_nothing_happens(catch_signal):
    paused = catch_signal(signals.reputation_paused)
    campaign = campaign_with(sent=199, bounces=100, complaints=50)
    report(campaign, "Bounce")
    report(campaign, "Complaint")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING and paused == []


@override_settings(PETMAIL={"REPUTATION_MIN_SENT": 10, "REPUTATION_BOUNCE_RATE": 50.0})
def test_the_thresholds_are_settings():
    campaign = campaign_with(sent=10, bounces=3)
    report(campaign, "Bounce")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING  # 40 % < 50 %
    report(campaign, "Bounce")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED


def test_a_campaign_paused_by_hand_meanwhile_keeps_its_state(catch_signal):
    from django_petmail.receivers import pause_for_reputation

    paused = catch_signal(signals.reputation_paused)
    campaign = campaign_with(sent=200)
    campaigns.pause(campaign)
    pause_for_reputation(EmailCampaign, pk=campaign.pk, metric="bounce_rate", rate=6.0,
                         threshold=5.0, sent=200)  # fmt: skip
    pause_for_reputation(EmailCampaign, pk=0, metric="bounce_rate", rate=6.0, threshold=5.0,
                         sent=200)  # fmt: skip
    pause_for_reputation(object, pk=1, metric="bounce_rate", rate=6.0, threshold=5.0, sent=200)
    stopped = StepFactory(sequence__is_active=False).sequence
    pause_for_reputation(AutomatedSequence, pk=stopped.pk, metric="bounce_rate", rate=6.0,
                         threshold=5.0, sent=200)  # fmt: skip
    campaign.refresh_from_db()
    assert campaign.paused_reason == "" and paused == []


def test_resuming_clears_the_reason():
    campaign = campaign_with(sent=200, bounces=9)
    report(campaign, "Bounce")
    campaign.refresh_from_db()
    campaigns.resume(campaign, enqueue=False)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING and campaign.paused_reason == ""


def test_an_active_sequence_pauses_on_the_sum_of_its_steps(catch_signal):
    paused = catch_signal(signals.reputation_paused)
    first = StepFactory(sent_count=150, bounce_count=5)
    second = StepFactory(sequence=first.sequence, sent_count=50, bounce_count=4)
    report(second, "Bounce")  # (5 + 5) / 200 = 5 %
    sequence = AutomatedSequence.objects.get(pk=first.sequence_id)
    assert sequence.is_active is False
    assert "5.00" in sequence.paused_reason
    assert len(paused) == 1 and paused[0]["obj"] == sequence
    report(second, "Bounce")  # the sequence is paused already: once
    assert len(paused) == 1


def test_a_paused_sequence_keeps_its_reason(catch_signal):
    paused = catch_signal(signals.reputation_paused)
    step = StepFactory(sent_count=200, bounce_count=20)
    AutomatedSequence.objects.filter(pk=step.sequence_id).update(
        is_active=False, paused_reason="by hand"
    )
    report(step, "Bounce")
    assert AutomatedSequence.objects.get(pk=step.sequence_id).paused_reason == "by hand"
    assert paused == []


def test_the_reason_says_what_and_how_much():
    with translation.override("en"):
        text = reason("complaint_rate", 0.25, 0.1, 400)
    assert "complaint rate" in text and "0.25 %" in text and "0.1 %" in text and "400" in text


def test_the_reason_is_read_only_in_the_admin_and_the_api(client, staff, api):
    campaign = campaign_with(sent=200, bounces=9)
    report(campaign, "Bounce")
    campaign.refresh_from_db()
    client.force_login(staff)
    page = client.get(f"/admin/django_petmail/emailcampaign/{campaign.pk}/change/")
    assert page.status_code == 200
    assert campaign.paused_reason in page.content.decode()
    data = api.get(f"/petmail/api/campaigns/{campaign.pk}/").json()
    assert data["paused_reason"] == campaign.paused_reason
    api.patch(f"/petmail/api/campaigns/{campaign.pk}/", {"paused_reason": "x"}, format="json")
    campaign.refresh_from_db()
    assert campaign.paused_reason == data["paused_reason"]
