"""The reports through the API: campaign, step and sequence reports, the account overview and
a subscriber's history; staff only; bad ``days``/``limit`` → 400 naming them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from django_petmail.models import EmailSend
from tests.analytics_data import build_campaign, build_sends
from tests.factories import CampaignFactory, SequenceFactory, StepFactory

pytestmark = pytest.mark.django_db
API = "/petmail/api"


def test_the_campaign_report(api):
    campaign = build_campaign()
    response = api.get(f"{API}/campaigns/{campaign.pk}/report/")
    assert response.status_code == 200
    data = response.json()
    assert data["kind"] == "campaign" and data["id"] == campaign.pk
    assert data["funnel"] == {
        "recipients": 9,
        "sent": 8,
        "delivered": 6,
        "opened": 4,
        "clicked": 3,
        "converted": 2,
    }
    assert data["rates"]["denominator"] == "delivered" and data["rates"]["open"] == 66.67
    assert data["revenue"] == "123.45"
    assert data["top_links"][0]["clicks"] == 3
    assert data["progress"]["percent"] == 100.0


def test_the_step_and_sequence_reports(api):
    step = StepFactory(step_number=1)
    build_sends({"campaign": None, "sequence_step": step})
    step_data = api.get(f"{API}/steps/{step.pk}/report/").json()
    assert step_data["kind"] == "step" and step_data["funnel"]["sent"] == 8
    response = api.get(f"{API}/sequences/{step.sequence_id}/report/")
    assert response.status_code == 200
    data = response.json()
    assert [s["id"] for s in data["steps"]] == [step.pk]
    assert data["totals"]["funnel"]["opened"] == 4
    assert data["enrollments"]["total"] == 0


def test_unknown_ids_are_404(api):
    for path in ("campaigns", "steps", "sequences"):
        assert api.get(f"{API}/{path}/999999/report/").status_code == 404
    assert api.get(f"{API}/subscriptions/999999/history/").status_code == 404


def test_the_overview(api):
    build_campaign()
    response = api.get(f"{API}/reports/overview/", {"days": "365"})
    assert response.status_code == 200
    data = response.json()
    assert data["days"] == 365 and len(data["daily"]) == 366
    assert Decimal(data["revenue"]) >= 0 and data["bounce_threshold"] == 5.0
    assert api.get(f"{API}/reports/overview/").json()["days"] == 30


@pytest.mark.parametrize("days", ["0", "366", "abc", "-1", "1.5", "", "9" * 30])
def test_a_bad_period_is_a_400_naming_days(api, days):
    response = api.get(f"{API}/reports/overview/", {"days": days}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "whole number from 1 to 365" in response.json()["days"][0]


def test_the_subscriber_history(api):
    campaign = build_campaign()
    send = EmailSend.objects.filter(campaign=campaign).order_by("pk").first()  # s0
    response = api.get(f"{API}/subscriptions/{send.subscription_id}/history/")
    assert response.status_code == 200
    data = response.json()
    assert data["subscription_id"] == send.subscription_id
    assert [entry["send_id"] for entry in data["sends"]] == [send.pk]
    assert {event["type"] for event in data["sends"][0]["events"]} >= {"delivery", "open"}
    limited = api.get(f"{API}/subscriptions/{send.subscription_id}/history/", {"limit": "1"})
    assert limited.status_code == 200


@pytest.mark.parametrize("limit", ["0", "1001", "x"])
def test_a_bad_history_limit_is_a_400_naming_limit(api, limit):
    campaign = CampaignFactory()
    subscription = build_sends({"campaign": campaign})[0].subscription
    response = api.get(f"{API}/subscriptions/{subscription.pk}/history/", {"limit": limit})
    assert response.status_code == 400 and "limit" in response.json()


def test_reports_are_for_staff_only(non_staff_api, anonymous_api):
    campaign = CampaignFactory()
    sequence = SequenceFactory()
    paths = [
        f"{API}/campaigns/{campaign.pk}/report/",
        f"{API}/sequences/{sequence.pk}/report/",
        f"{API}/reports/overview/",
    ]
    for client in (non_staff_api, anonymous_api):
        for path in paths:
            assert client.get(path).status_code in (401, 403)
