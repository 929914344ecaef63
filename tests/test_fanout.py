"""Fan-out: the audience (segment, eligibility, topic, importance, frequency caps) becomes
pending sends in one INSERT … SELECT, once."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_petmail import campaigns
from django_petmail.models import EmailCampaign, EmailSend, SendStatus, Suppression
from django_petmail.models.subscriptions import email_hash
from django_petmail.segments.service import snapshot
from django_petmail.sending.fanout import audience, fan_out
from tests.factories import CampaignFactory, OwnerFactory, SegmentFactory, SendFactory
from tests.factories import SubscriptionFactory as Sub

pytestmark = pytest.mark.django_db

ENGLISH = {"operator": "AND", "conditions": [{"field": "language", "op": "eq", "value": "en"}]}


def petmail(**overrides):
    return override_settings(PETMAIL={**settings.PETMAIL, **overrides})


def fanned_out(campaign):
    """Subscription ids with a send of ``campaign``."""
    return set(EmailSend.objects.filter(campaign=campaign).values_list("subscription", flat=True))


def ids(*subs):
    return {s.pk for s in subs}


def sent_before(sub, days, status=SendStatus.SENT, campaign=None):
    """A send of another campaign ``days`` ago (what the frequency caps count)."""
    return SendFactory(
        campaign=campaign or CampaignFactory(status="sent"),
        subscription=sub,
        status=status,
        sent_at=timezone.now() - timedelta(days=days),
    )


# --- who --------------------------------------------------------------------------------------


def test_sends_to_the_segment_and_only_to_it():
    english = [Sub(language="en") for _ in range(3)]
    spanish = [Sub(language="es") for _ in range(2)]
    campaign = CampaignFactory(segment=SegmentFactory(rules=ENGLISH))

    assert campaigns.start(campaign) == 3

    assert fanned_out(campaign) == ids(*english)
    delivered = sorted(a for m in mail.outbox for a in m.to)
    assert delivered == sorted(s.email for s in english)
    assert not {s.email for s in spanish} & set(delivered)


def test_without_a_segment_every_eligible_subscriber_is_the_audience():
    subs = [Sub() for _ in range(3)]
    campaign = CampaignFactory()
    assert fan_out(campaign) == 3
    assert fanned_out(campaign) == ids(*subs)


def test_a_static_segment_sends_to_its_frozen_members():
    frozen = Sub(language="en")
    segment = SegmentFactory(rules=ENGLISH)
    snapshot(segment)
    Sub(language="en")  # joined after the snapshot
    campaign = CampaignFactory(segment=segment)
    fan_out(campaign)
    assert fanned_out(campaign) == ids(frozen)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Sub(status="pending", confirmed_at=None),
        lambda: Sub(status="unsubscribed"),
        lambda: Sub(status="bounced"),
        lambda: Sub(status="complained"),
        lambda: Sub(is_paused=True),
    ],
    ids=["pending", "unsubscribed", "bounced", "complained", "paused"],
)
def test_ineligible_subscriptions_are_excluded(make):
    active = Sub()
    make()
    campaign = CampaignFactory()
    assert fan_out(campaign) == 1
    assert fanned_out(campaign) == ids(active)


def test_suppressed_addresses_are_excluded_even_when_active():
    active = Sub()
    suppressed = Sub(email="Vetada@Example.com")
    Suppression.objects.create(email_hash=email_hash("vetada@example.com"), reason="manual")
    campaign = CampaignFactory(segment=SegmentFactory())
    fan_out(campaign)
    assert fanned_out(campaign) == ids(active)
    assert suppressed.pk not in fanned_out(campaign)


def test_the_campaign_topic_must_be_chosen():
    tips = Sub(topics=["pet_tips", "news"])
    Sub(topics=["promotions"])
    Sub(topics=[])
    campaign = CampaignFactory(topic="pet_tips")
    fan_out(campaign)
    assert fanned_out(campaign) == ids(tips)


def test_no_topic_reaches_every_topic_choice():
    subs = [Sub(topics=["pet_tips"]), Sub(topics=[]), Sub(topics=["promotions"])]
    campaign = CampaignFactory(topic="")
    fan_out(campaign)
    assert fanned_out(campaign) == ids(*subs)


def test_important_only_subscribers_only_get_important_campaigns():
    weekly = Sub(frequency="weekly")
    monthly = Sub(frequency="monthly")
    important_only = Sub(frequency="important_only")

    ordinary = CampaignFactory(is_important=False)
    fan_out(ordinary)
    important = CampaignFactory(is_important=True)
    fan_out(important)

    assert fanned_out(ordinary) == ids(weekly, monthly)
    assert fanned_out(important) == ids(weekly, monthly, important_only)


# --- frequency caps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "days_ago", "capped"),
    [
        ("weekly", 2, True),
        ("weekly", 6.9, True),
        ("weekly", 7.1, False),
        ("monthly", 2, True),
        ("monthly", 20, True),
        ("monthly", 29.9, True),
        ("monthly", 30.1, False),
    ],
)
def test_frequency_caps_count_recent_campaign_sends(frequency, days_ago, capped):
    sub = Sub(frequency=frequency)
    fresh = Sub(frequency=frequency)
    sent_before(sub, days_ago)
    campaign = CampaignFactory()
    fan_out(campaign)
    expected = ids(fresh) if capped else ids(sub, fresh)
    assert fanned_out(campaign) == expected


@pytest.mark.parametrize(
    "status", ["sending", "sent", "delivered", "opened", "clicked"], ids=lambda s: s
)
def test_every_delivered_state_counts_against_the_cap(status):
    sub = Sub(frequency="weekly")
    sent_before(sub, 1, status=status)
    campaign = CampaignFactory()
    fan_out(campaign)
    assert sub.pk not in fanned_out(campaign)


@pytest.mark.parametrize(
    "status", ["pending", "held", "failed", "bounced", "skipped", "cancelled", "unknown"]
)
def test_sends_that_never_left_do_not_count(status):
    sub = Sub(frequency="weekly")
    sent_before(sub, 1, status=status)
    campaign = CampaignFactory()
    fan_out(campaign)
    assert sub.pk in fanned_out(campaign)


def test_sequence_mail_does_not_count_against_campaign_caps():
    sub = Sub(frequency="weekly")
    SendFactory(
        campaign=None,
        subscription=sub,
        status="sent",
        sent_at=timezone.now() - timedelta(days=1),
    )
    campaign = CampaignFactory()
    fan_out(campaign)
    assert sub.pk in fanned_out(campaign)


def test_the_campaigns_own_sends_do_not_cap_it():
    sub = Sub(frequency="weekly")
    campaign = CampaignFactory(status="sending")
    SendFactory(campaign=campaign, subscription=sub, status="sent", sent_at=timezone.now())
    assert sub.pk in set(audience(campaign).values_list("pk", flat=True))


def test_important_campaigns_bypass_the_caps():
    weekly = Sub(frequency="weekly")
    monthly = Sub(frequency="monthly")
    sent_before(weekly, 1)
    sent_before(monthly, 10)
    campaign = CampaignFactory(is_important=True)
    fan_out(campaign)
    assert fanned_out(campaign) == ids(weekly, monthly)


def test_caps_are_configurable():
    sub = Sub(frequency="weekly")
    sent_before(sub, 1)
    with petmail(FREQUENCY_CAPS={"weekly": (2, 7), "monthly": (1, 30)}):
        allowed = CampaignFactory()
        fan_out(allowed)
        sent_before(sub, 2)
        capped = CampaignFactory()
        fan_out(capped)
    assert sub.pk in fanned_out(allowed)
    assert sub.pk not in fanned_out(capped)


def test_two_campaigns_in_a_row_reach_a_weekly_subscriber_once():
    weekly = Sub(frequency="weekly")
    first = CampaignFactory()
    campaigns.start(first)
    second = CampaignFactory()
    assert campaigns.start(second) == 0
    assert [m.to for m in mail.outbox] == [[weekly.email]]


# --- how --------------------------------------------------------------------------------------


def test_rows_carry_the_subscription_owner_and_address():
    owner = OwnerFactory()
    sub = Sub(owner=owner, email="ana@example.com")
    campaign = CampaignFactory()
    fan_out(campaign)
    send = EmailSend.objects.get(campaign=campaign)
    assert (send.subscription_id, send.owner_id, send.email_address) == (
        sub.pk,
        owner.pk,
        "ana@example.com",
    )
    assert send.status == SendStatus.PENDING
    assert (send.ab_variant, send.attempts, send.claimed_by) == ("", 0, "")
    assert send.created_at is not None and send.updated_at is not None


def test_ab_tests_fan_out_held():
    Sub()
    Sub()
    campaign = CampaignFactory(is_ab_test=True, ab_subject_b="B")
    fan_out(campaign)
    assert set(EmailSend.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        SendStatus.HELD
    }


def test_fan_out_is_one_insert_select():
    for _ in range(3):
        Sub()
    campaign = CampaignFactory(segment=SegmentFactory(rules=ENGLISH), topic="news")
    with CaptureQueriesContext(connection) as queries:
        fan_out(campaign)
    assert len(queries) == 1
    sql = queries[0]["sql"].upper()
    assert sql.startswith("INSERT")
    assert "SELECT" in sql


#: Starting a campaign: readiness, the state change, the fan-out INSERT … SELECT, the count,
#: ``recipient_count`` and refreshes — however many recipients there are.
START_QUERIES = 10


@pytest.mark.parametrize("recipients", [5, 50])
def test_query_count_does_not_grow_with_the_audience(recipients, django_assert_max_num_queries):
    audience = [Sub(language="en") for _ in range(recipients)]
    Sub(language="es")
    campaign = CampaignFactory(segment=SegmentFactory(rules=ENGLISH), topic="news")
    campaign = EmailCampaign.objects.get(pk=campaign.pk)

    with django_assert_max_num_queries(START_QUERIES):
        assert campaigns.start(campaign, enqueue=False) == recipients

    assert fanned_out(campaign) == ids(*audience)


def test_repeated_fan_out_inserts_nothing():
    subs = [Sub() for _ in range(3)]
    campaign = CampaignFactory()
    assert fan_out(campaign) == 3
    rows = list(EmailSend.objects.filter(campaign=campaign).order_by("pk").values())

    assert fan_out(campaign) == 0

    assert list(EmailSend.objects.filter(campaign=campaign).order_by("pk").values()) == rows
    newcomer = Sub()
    assert fan_out(campaign) == 1
    assert fanned_out(campaign) == ids(*subs, newcomer)


def test_recipient_count_is_set_from_the_fan_out():
    for _ in range(4):
        Sub()
    Sub(status="unsubscribed")
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)
    assert EmailCampaign.objects.get(pk=campaign.pk).recipient_count == 4
