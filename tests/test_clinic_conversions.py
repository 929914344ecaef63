"""The example clinic reports its orders as conversions: recorded when an order becomes
completed, refunded when a completed order is refunded or cancelled, never breaking its save."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

import django_petmail
from clinic.models import OrderStatus
from django_petmail.models import Conversion, EventType
from tests.factories import (
    CampaignFactory,
    EventFactory,
    OrderFactory,
    OwnerFactory,
    SendFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clicked():
    """An owner who subscribed and clicked a campaign an hour ago: (owner, campaign)."""
    owner = OwnerFactory()
    subscription = SubscriptionFactory(owner=owner, email=owner.email)
    campaign = CampaignFactory()
    send = SendFactory(campaign=campaign, subscription=subscription)
    EventFactory(
        send=send, event_type=EventType.CLICK, occurred_at=timezone.now() - timedelta(hours=1)
    )
    return owner, campaign


def revenue(campaign):
    campaign.refresh_from_db()
    return campaign.revenue_attributed, campaign.conversion_count


def test_an_order_becoming_completed_is_recorded_once(clicked):
    owner, campaign = clicked
    order = OrderFactory(owner=owner, status=OrderStatus.PENDING, total=Decimal("42.50"))
    assert not Conversion.objects.exists()

    order.status = OrderStatus.COMPLETED
    order.save()
    order.save()  # saved again while completed: not a new conversion

    conversion = Conversion.objects.get()
    assert (conversion.reference, conversion.amount) == (f"order-{order.pk}", Decimal("42.50"))
    assert conversion.send.campaign == campaign
    assert revenue(campaign) == (Decimal("42.50"), 1)


def test_an_order_created_completed_is_recorded_at_its_creation_time(clicked):
    owner, campaign = clicked
    order = OrderFactory(owner=owner, total=Decimal("10.00"))
    conversion = Conversion.objects.get(reference=f"order-{order.pk}")
    assert conversion.occurred_at == order.created
    assert revenue(campaign) == (Decimal("10.00"), 1)


@pytest.mark.parametrize("status", [OrderStatus.REFUNDED, OrderStatus.CANCELLED])
def test_a_completed_order_refunded_or_cancelled_is_refunded_once(clicked, status):
    owner, campaign = clicked
    order = OrderFactory(owner=owner, total=Decimal("30.00"))
    order.status = status
    order.save()
    order.save()

    conversion = Conversion.objects.get(reference=f"order-{order.pk}")
    assert conversion.refunded_at is not None
    assert revenue(campaign) == (Decimal("0.00"), 0)


def test_a_pending_order_cancelled_records_nothing(clicked):
    owner, _ = clicked
    order = OrderFactory(owner=owner, status=OrderStatus.PENDING)
    order.status = OrderStatus.CANCELLED
    order.save()
    assert not Conversion.objects.exists()


def test_an_owner_who_never_subscribed_is_stored_unattributed():
    order = OrderFactory(owner=OwnerFactory(), total=Decimal("5.00"))
    conversion = Conversion.objects.get(reference=f"order-{order.pk}")
    assert (conversion.subscription, conversion.send) == (None, None)


def test_a_petmail_error_never_breaks_the_clinics_save(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("petmail is down")

    monkeypatch.setattr(django_petmail, "record_conversion", broken)
    monkeypatch.setattr(django_petmail, "refund_conversion", broken)
    with caplog.at_level(logging.ERROR, logger="clinic.receivers"):
        order = OrderFactory(owner=OwnerFactory())
        order.status = OrderStatus.REFUNDED
        order.save()
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert "petmail conversion failed for Order" in caplog.text
    assert "petmail refund failed for Order" in caplog.text
