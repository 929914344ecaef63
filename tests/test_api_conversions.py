"""``GET /petmail/api/conversions/``: read-only, staff only, filtered by campaign, step and
days; a bad filter value is a 400 naming the parameter."""

from datetime import UTC, datetime, timedelta

import pytest

import django_petmail
from django_petmail.models import EventType
from tests.factories import (
    CampaignFactory,
    EventFactory,
    SendFactory,
    StepFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

URL = "/petmail/api/conversions/"
DAY = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def data():
    """order-1 on a campaign (May 19), order-2 on a step (May 20), order-3 unattributed
    (May 21)."""
    ana, luis = SubscriptionFactory(email="ana@clinica.test"), SubscriptionFactory()
    campaign, step = CampaignFactory(), StepFactory()
    EventFactory(
        send=SendFactory(campaign=campaign, subscription=ana),
        event_type=EventType.CLICK,
        occurred_at=DAY - timedelta(days=2),
    )
    EventFactory(
        send=SendFactory(campaign=None, sequence_step=step, subscription=luis),
        event_type=EventType.CLICK,
        occurred_at=DAY - timedelta(days=1),
    )
    record = django_petmail.record_conversion
    record(ana, "10.50", at=DAY - timedelta(days=1), reference="order-1")
    record(luis, 20, at=DAY, reference="order-2")
    record(SubscriptionFactory(), 30, at=DAY + timedelta(days=1), reference="order-3")
    return {"campaign": campaign, "step": step}


def references(response):
    assert response.status_code == 200, response.content
    return [row["reference"] for row in response.json()["results"]]


def test_staff_list_every_conversion_newest_first(api, data):
    response = api.get(URL)
    assert references(response) == ["order-3", "order-2", "order-1"]
    first = response.json()["results"][2]
    assert first["amount"] == "10.50"
    assert first["currency"] == "EUR"
    assert first["email"] == "ana@clinica.test"
    assert first["campaign"] == data["campaign"].pk
    assert first["step"] is None
    unattributed = response.json()["results"][0]
    assert (unattributed["send"], unattributed["campaign"], unattributed["step"]) == (
        None,
        None,
        None,
    )


def test_filters_by_campaign_step_and_days(api, data):
    assert references(api.get(URL, {"campaign": data["campaign"].pk})) == ["order-1"]
    assert references(api.get(URL, {"step": data["step"].pk})) == ["order-2"]
    assert references(api.get(URL, {"since": "2026-05-20"})) == ["order-3", "order-2"]
    assert references(api.get(URL, {"until": "2026-05-20"})) == ["order-2", "order-1"]
    assert references(api.get(URL, {"since": "2026-05-20", "until": "2026-05-20"})) == ["order-2"]
    assert references(api.get(URL, {"until": "9999-12-31"})) == ["order-3", "order-2", "order-1"]
    assert references(api.get(URL, {"campaign": 999999})) == []


def test_one_conversion_can_be_read(api, data):
    listed = api.get(URL).json()["results"][0]
    response = api.get(f"{URL}{listed['id']}/")
    assert response.status_code == 200
    assert response.json()["reference"] == "order-3"


def test_the_list_is_paginated(api, data):
    response = api.get(URL, {"page_size": 2})
    assert response.json()["count"] == 3
    assert len(response.json()["results"]) == 2
    assert api.get(URL, {"page": 99}).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"campaign": "abc"}, "campaign"),
        ({"campaign": "0"}, "campaign"),
        ({"campaign": "-3"}, "campaign"),
        ({"campaign": "9" * 40}, "campaign"),
        ({"step": "1.5"}, "step"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-02-30"}, "since"),
        ({"until": "2026-05-20T10:00:00"}, "until"),
        ({"since": "2026-05-21", "until": "2026-05-20"}, "until"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(api, data, params, field):
    response = api.get(URL, params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_conversions_are_read_only(api, data):
    assert api.post(URL, {"reference": "x", "amount": "1"}).status_code == 405
    conversion_id = api.get(URL).json()["results"][0]["id"]
    assert api.patch(f"{URL}{conversion_id}/", {"amount": "0"}).status_code == 405
    assert api.delete(f"{URL}{conversion_id}/").status_code == 405


def test_only_staff_may_read(anonymous_api, non_staff_api, data):
    assert anonymous_api.get(URL).status_code in (401, 403)
    assert non_staff_api.get(URL).status_code == 403
