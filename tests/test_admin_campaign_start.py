"""Starting a campaign from the admin: a confirmation page with how many will receive it and
why the others will not (counted set-based by ``audience_breakdown``), a start to nobody
refused with that explanation, and the message saying where the campaign is now."""

from datetime import timedelta

import pytest
from django.contrib.messages import constants
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_petmail import campaigns
from django_petmail.models import (
    CampaignStatus,
    EmailSend,
    SegmentMembership,
    SendStatus,
    Suppression,
)
from django_petmail.models.subscriptions import email_hash
from tests.factories import CampaignFactory, SegmentFactory, SendFactory
from tests.factories import SubscriptionFactory as Sub
from tests.test_admin_campaigns import CHANGELIST

pytestmark = pytest.mark.django_db

EN = {"accept-language": "en"}


def post_action(client, campaigns_, *, confirm):
    data = {"action": "start_selected", "_selected_action": [c.pk for c in campaigns_]}
    if confirm:
        data["post"] = "yes"
    return client.post(reverse(CHANGELIST), data, follow=confirm, headers=EN)


@pytest.fixture
def mixed():
    """One of each reason, plus two who will receive a ``pet_tips`` campaign."""
    Sub.create_batch(2, topics=["pet_tips"])
    Sub(status="pending", topics=["pet_tips"])
    Sub(status="unsubscribed", topics=["pet_tips"])
    Sub(status="bounced", topics=["pet_tips"])
    Sub(is_paused=True, topics=["pet_tips"])
    vetada = Sub(topics=["pet_tips"])
    Suppression.objects.create(email_hash=email_hash(vetada.email), reason="manual")
    Sub(topics=["news"])  # topic not chosen
    Sub(topics=["pet_tips"], frequency="important_only")
    capped = Sub(topics=["pet_tips"], frequency="weekly")
    SendFactory(
        subscription=capped,
        campaign=CampaignFactory(status="sent"),
        status=SendStatus.SENT,
        sent_at=timezone.now() - timedelta(days=1),
    )


def test_breakdown_counts_every_reason(mixed):
    campaign = CampaignFactory(topic="pet_tips")
    found = campaigns.audience_breakdown(campaign)
    assert found.recipients == 2 == campaigns.audience_breakdown(campaign).recipients
    assert found.excluded() == {
        "status_bounced": 1,
        "status_pending": 1,
        "status_unsubscribed": 1,
        "paused": 1,
        "suppressed": 1,
        "topic_not_chosen": 1,
        "important_only": 1,
        "frequency_cap": 1,
    }
    assert found.matched == 10
    assert found.recipients == campaigns.start(campaign, enqueue=False)


def test_breakdown_is_a_few_queries_whatever_the_audience(mixed):
    campaign = CampaignFactory(topic="pet_tips", segment=SegmentFactory(rules={}))
    with CaptureQueriesContext(connection) as few:
        campaigns.audience_breakdown(campaign)
    Sub.create_batch(20, topics=["pet_tips"])
    with CaptureQueriesContext(connection) as more:
        assert campaigns.audience_breakdown(campaign).recipients == 22
    assert len(few) == len(more) <= 8


def test_breakdown_of_an_important_campaign_ignores_preferences_of_frequency(mixed):
    found = campaigns.audience_breakdown(CampaignFactory(is_important=True))
    assert "important_only" not in found.excluded()
    assert "frequency_cap" not in found.excluded()
    assert "topic_not_chosen" not in found.excluded()
    assert found.recipients == 5


def test_breakdown_of_a_frozen_segment():
    segment = SegmentFactory(rules={}, is_dynamic=False, snapshot_at=timezone.now())
    member, _other = Sub(), Sub()
    SegmentMembership.objects.create(segment=segment, subscription=member)
    found = campaigns.audience_breakdown(CampaignFactory(segment=segment))
    assert (found.matched, found.recipients) == (1, 1)


def test_the_action_first_shows_the_confirmation_page(admin_client, mixed):
    campaign = CampaignFactory(topic="pet_tips")
    response = post_action(admin_client, [campaign], confirm=False)
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 subscribers will receive it (of 10 in the segment)." in page
    assert "Did not choose the topic &#x27;pet_tips&#x27;: 1." in page
    assert "Reached their frequency cap: 1." in page
    assert "On the suppression list: 1." in page
    assert "Not active (Bounced): 1." in page
    assert 'name="post" value="yes"' in page
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT  # nothing started yet


def test_confirming_starts_and_says_where_the_campaign_is_now(admin_client, mixed):
    campaign = CampaignFactory(topic="pet_tips")
    response = post_action(admin_client, [campaign], confirm=True)
    messages = [(m.level, m.message) for m in response.context["messages"]]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT  # eager workers sent it at once
    assert messages == [(constants.INFO, f"{campaign}: Sent")]  # not "Sending"
    assert EmailSend.objects.filter(campaign=campaign).count() == 2


def test_a_start_to_nobody_is_refused_with_the_reasons(admin_client, mixed):
    campaign = CampaignFactory(topic="reminders")
    page = post_action(admin_client, [campaign], confirm=False).content.decode()
    assert "This campaign would reach nobody" in page
    response = post_action(admin_client, [campaign], confirm=True)
    [(level, message)] = [(m.level, m.message) for m in response.context["messages"]]
    assert level == constants.ERROR
    assert "not started, it would reach nobody" in message
    assert "Did not choose the topic 'reminders': 5." in message
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert not EmailSend.objects.filter(campaign=campaign).exists()


def test_a_start_to_an_empty_segment_says_so(admin_client):
    campaign = CampaignFactory(segment=SegmentFactory(rules={}))
    response = post_action(admin_client, [campaign], confirm=True)
    [message] = [m.message for m in response.context["messages"]]
    assert "The segment has no members." in message


def test_invalid_rules_and_wrong_states_are_shown_then_refused(admin_client):
    broken = CampaignFactory(
        segment=SegmentFactory(rules={"field": "gone", "op": "eq", "value": 1})
    )
    sent = CampaignFactory(status="sent")
    page = post_action(admin_client, [broken, sent], confirm=False).content.decode()
    assert "The segment&#x27;s rules are invalid" in page
    assert "It cannot be started." in page
    response = post_action(admin_client, [broken, sent], confirm=True)
    levels = [m.level for m in response.context["messages"]]
    assert levels == [constants.ERROR, constants.ERROR]
