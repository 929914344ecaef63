"""The bounce policy: transient bounces are counted per address and end it after
``SOFT_BOUNCE_LIMIT`` within ``SOFT_BOUNCE_DAYS``; a delivery starts the count again;
bounces of the ESP's suppression list are recorded, end the address, and are kept out of the
bounce counter. And an unsubscribe reported by the ESP is one event."""

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from django_petmail.analytics import campaign_report, reconcile
from django_petmail.models import (
    BounceType,
    CampaignStatus,
    EmailCampaign,
    EmailEvent,
    NewsletterSubscription,
    SendStatus,
    SubscriptionStatus,
    Suppression,
)
from django_petmail.tracking.events import Incoming, record
from tests.factories import CampaignFactory, SendFactory
from tests.test_tracking import post, ses_event

pytestmark = pytest.mark.django_db


def send_to(subscription, **fields):
    campaign = CampaignFactory(status=CampaignStatus.SENDING)
    return SendFactory(
        campaign=campaign, subscription=subscription, status=SendStatus.SENT, **fields
    )


def soft_bounce(send, *, subtype="General", kind="Transient"):
    event = ses_event(send, "Bounce", bounce_type=kind)
    event["bounce"]["bounceSubType"] = subtype
    assert post(event).status_code == 200


def sub_state(subscription):
    subscription.refresh_from_db()
    return subscription.status, subscription.soft_bounce_count


@pytest.mark.parametrize("kind", ["Transient", "Undetermined"])
def test_the_third_soft_bounce_in_the_window_ends_the_address(subscription, kind):
    for expected in (1, 2):
        soft_bounce(send_to(subscription), kind=kind)
        assert sub_state(subscription) == (SubscriptionStatus.ACTIVE, expected)
    assert not Suppression.objects.exists()
    last = send_to(subscription)
    soft_bounce(last, kind=kind)
    assert sub_state(subscription) == (SubscriptionStatus.BOUNCED, 3)
    assert Suppression.objects.get().reason == "bounced"
    last.refresh_from_db()
    assert last.status == SendStatus.SENT  # the message itself bounced softly
    assert EmailCampaign.objects.get(pk=last.campaign_id).bounce_count == 0


def test_a_delivery_starts_the_count_again(subscription):
    soft_bounce(send_to(subscription))
    soft_bounce(send_to(subscription))
    delivered = send_to(subscription)
    post(ses_event(delivered, "Delivery"))
    subscription.refresh_from_db()
    assert (subscription.soft_bounce_count, subscription.soft_bounce_since) == (0, None)
    soft_bounce(send_to(subscription))
    soft_bounce(send_to(subscription))
    assert sub_state(subscription) == (SubscriptionStatus.ACTIVE, 2)


def test_soft_bounces_older_than_the_window_do_not_count(subscription):
    soft_bounce(send_to(subscription))
    soft_bounce(send_to(subscription))
    NewsletterSubscription.objects.filter(pk=subscription.pk).update(
        soft_bounce_since=timezone.now() - timedelta(days=31)
    )
    soft_bounce(send_to(subscription))
    assert sub_state(subscription) == (SubscriptionStatus.ACTIVE, 1)
    subscription.refresh_from_db()
    assert subscription.soft_bounce_since > timezone.now() - timedelta(minutes=1)


@override_settings(PETMAIL={"SOFT_BOUNCE_LIMIT": 1})
def test_the_limit_is_a_setting(subscription):
    soft_bounce(send_to(subscription))
    assert sub_state(subscription) == (SubscriptionStatus.BOUNCED, 1)


def test_soft_bounces_of_mail_without_a_subscription_count_nothing(subscription):
    send = send_to(None, email_address="sin-suscripcion@example.com")
    soft_bounce(send)
    assert send.events.get().bounce_type == "Transient"
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("subtype", ["OnAccountSuppressionList", "Suppressed"])
def test_a_suppression_list_bounce_is_flagged_and_not_counted(subscription, subtype):
    send = send_to(subscription)
    soft_bounce(send, kind="Permanent", subtype=subtype)
    send.refresh_from_db()
    assert send.status == SendStatus.BOUNCED
    assert send.bounce_type == BounceType.SUPPRESSED
    assert send.events.get().bounce_type == BounceType.SUPPRESSED
    assert EmailCampaign.objects.get(pk=send.campaign_id).bounce_count == 0
    assert sub_state(subscription)[0] == SubscriptionStatus.BOUNCED
    assert Suppression.objects.exists()
    campaign = EmailCampaign.objects.get(pk=send.campaign_id)
    bounces = campaign_report(campaign).bounces
    assert (bounces.total, bounces.suppressed) == (0, 1)  # no attempt: out of the rates
    assert reconcile() == []  # the ledger agrees with the counter


def test_a_permanent_bounce_is_still_counted(subscription):
    send = send_to(subscription)
    soft_bounce(send, kind="Permanent", subtype="NoEmail")
    send.refresh_from_db()
    assert send.bounce_type == "Permanent"
    assert EmailCampaign.objects.get(pk=send.campaign_id).bounce_count == 1


def test_an_unsubscribe_reported_by_the_esp_is_stored_once(subscription):
    send = send_to(subscription, esp_message_id="m-unsub")
    event = Incoming("unsubscribed", "esp-unsub-1", "m-unsub", send.email_address, {})
    assert record(event) is not None
    assert record(event) is None  # the ESP's repeat
    events = EmailEvent.objects.filter(send=send)
    assert list(events.values_list("event_type", "esp_event_id")) == [
        ("unsubscribe", "esp-unsub-1")
    ]
    assert EmailCampaign.objects.get(pk=send.campaign_id).unsubscribe_count == 1
    send.refresh_from_db()
    assert send.status == SendStatus.UNSUBSCRIBED


def test_an_unsubscribe_through_the_link_still_records_its_event(subscription):
    from django_petmail.subscriptions import unsubscribe

    send = send_to(subscription)
    unsubscribe(subscription, source="link", send_id=send.pk)
    assert EmailEvent.objects.filter(send=send, event_type="unsubscribe").count() == 1


def test_a_bounce_payload_with_odd_subtypes_is_stored(subscription):
    send = send_to(subscription)
    event = ses_event(send, "Bounce", bounce_type="Transient")
    event["bounce"]["bounceSubType"] = ["not", "text"]
    assert post(event).status_code == 200
    assert json.loads(json.dumps(send.events.get().bounce_type)) == "Transient"
