"""Conversion admin: a read-only list with filters and search by reference or address; no
add, change or delete (the counters of campaigns and steps move only with the service)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

import django_petmail
from django_petmail.models import Conversion, EventType
from tests.factories import (
    CampaignFactory,
    EventFactory,
    OwnerFactory,
    SendFactory,
    StepFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

LIST = "admin:django_petmail_conversion_changelist"


@pytest.fixture
def conversions():
    """One conversion attributed to a campaign, one to a step (refunded), one unattributed."""
    now = timezone.now()
    ana = SubscriptionFactory(email="ana@clinica.test")
    luis = SubscriptionFactory(email="luis@clinica.test")
    campaign_send = SendFactory(campaign=CampaignFactory(name="Primavera"), subscription=ana)
    EventFactory(send=campaign_send, event_type=EventType.CLICK, occurred_at=now)
    step_send = SendFactory(campaign=None, sequence_step=StepFactory(), subscription=luis)
    EventFactory(send=step_send, event_type=EventType.CLICK, occurred_at=now)
    at = now + timedelta(minutes=1)
    return {
        "campaign": django_petmail.record_conversion(ana, 10, at=at, reference="order-1"),
        "step": django_petmail.record_conversion(luis, 20, at=at, reference="order-2"),
        "none": django_petmail.record_conversion(
            SubscriptionFactory(email="eva@clinica.test"), 30, at=at, reference="order-3"
        ),
        "refunded": django_petmail.refund_conversion("order-2"),
    }


def listed(admin_client, **params):
    response = admin_client.get(reverse(LIST), params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return {c.reference for c in response.context["cl"].result_list}


def test_conversions_are_registered():
    assert admin.site.is_registered(Conversion)


def test_the_list_shows_every_conversion_and_what_it_is_attributed_to(admin_client, conversions):
    response = admin_client.get(reverse(LIST), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Primavera" in page
    assert "Unattributed" in page
    assert "ana@clinica.test" in page
    assert listed(admin_client) == {"order-1", "order-2", "order-3"}


def test_the_list_renders_in_spanish(admin_client, conversions):
    response = admin_client.get(reverse(LIST), HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"attributed": "campaign"}, {"order-1"}),
        ({"attributed": "step"}, {"order-2"}),
        ({"attributed": "no"}, {"order-3"}),
        ({"refunded": "yes"}, {"order-2"}),
        ({"refunded": "no"}, {"order-1", "order-3"}),
        ({"currency": "EUR"}, {"order-1", "order-2", "order-3"}),
        ({"q": "order-3"}, {"order-3"}),
        ({"q": "luis@clinica"}, {"order-2"}),
    ],
)
def test_filters_and_search(admin_client, conversions, params, expected):
    assert listed(admin_client, **params) == expected


def test_a_conversion_can_be_viewed_but_not_added_changed_or_deleted(admin_client, conversions):
    conversion = conversions["campaign"]
    change = reverse("admin:django_petmail_conversion_change", args=[conversion.pk])
    page = admin_client.get(change, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "Primavera" in page.content.decode()
    assert admin_client.get(reverse("admin:django_petmail_conversion_add")).status_code == 403
    assert admin_client.post(change, {"amount": "999"}).status_code == 403
    delete = reverse("admin:django_petmail_conversion_delete", args=[conversion.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    conversion.refresh_from_db()
    assert conversion.amount == Decimal("10.00")


def test_an_unattributed_conversion_without_subscription_shows_a_dash(admin_client):
    django_petmail.record_conversion(OwnerFactory(), 5, reference="walk-in")
    response = admin_client.get(reverse(LIST), HTTP_ACCEPT_LANGUAGE="en")
    assert "walk-in" in response.content.decode()
