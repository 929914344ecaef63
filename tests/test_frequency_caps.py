"""Frequency caps hold across campaigns."""

import pytest

from django_petmail import campaigns
from django_petmail.sending.fanout import audience
from tests.factories import CampaignFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


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
