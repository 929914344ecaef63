"""The subscription API: public subscribe, staff list/unsubscribe/export/erase."""

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import override_settings

from django_petmail.models import ConsentEvent, NewsletterSubscription, Suppression
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

URL = "/petmail/api/subscribe/"


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


def test_subscribe_creates_pending_and_sends_confirmation(
    anonymous_api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = anonymous_api.post(
            URL,
            {
                "email": "Luis@Example.com",
                "first_name": "Luis",
                "topics": ["news"],
                "language": "en",
            },
            format="json",
        )
    assert response.status_code == 202
    sub = NewsletterSubscription.objects.get()
    assert (sub.email, sub.status, sub.topics, sub.language, sub.source) == (
        "luis@example.com",
        "pending",
        ["news"],
        "en",
        "api",
    )
    assert ConsentEvent.objects.get().form == "api"
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("state", ["new", "pending", "active", "unsubscribed", "bounced"])
def test_same_answer_whatever_the_state(anonymous_api, state):
    if state != "new":
        SubscriptionFactory(email="x@example.com", status=state)
    response = anonymous_api.post(URL, {"email": "x@example.com"}, format="json")
    assert (response.status_code, response.json()) == (
        202,
        {
            "detail": "If this address can receive our newsletter, a confirmation link is on its "
            "way."
        },
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "nope"}, "email"),
        ({}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"email": "a@example.com", "first_name": "x" * 101}, "first_name"),
        ({"email": "a@example.com", "first_name": "Ana\r\nBcc: evil@example.com"}, "first_name"),
        ({"email": "a@example.com", "topics": ["crypto"]}, "topics"),
        ({"email": "a@example.com", "topics": "news"}, "topics"),
        ({"email": "a@example.com", "frequency": "hourly"}, "frequency"),
        ({"email": "a@example.com", "language": "xx"}, "language"),
        ({"email": "a@example.com", "source": "spam"}, "source"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(anonymous_api, payload, field):
    response = anonymous_api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not NewsletterSubscription.objects.exists()
    assert not ConsentEvent.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("body", ["[1, 2]", "not json", '"text"'])
def test_non_object_bodies_are_400(anonymous_api, body):
    response = anonymous_api.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert not NewsletterSubscription.objects.exists()


def test_ip_rate_limit(anonymous_api, settings):
    with override_settings(PETMAIL={**settings.PETMAIL, "SUBSCRIBE_RATE_LIMIT_PER_IP": "2/h"}):
        codes = [
            anonymous_api.post(URL, {"email": f"r{i}@example.com"}, format="json").status_code
            for i in range(3)
        ]
    assert codes == [202, 202, 429]
    assert NewsletterSubscription.objects.count() == 2


def test_staff_only(anonymous_api):
    assert anonymous_api.get("/petmail/api/subscriptions/").status_code in (401, 403)


def test_list_and_filter(api):
    SubscriptionFactory(email="a@example.com", status="active")
    SubscriptionFactory(email="b@example.com", status="pending")
    data = api.get("/petmail/api/subscriptions/", {"status": "pending"}).json()["results"]
    assert [row["email"] for row in data] == ["b@example.com"]
    data = api.get("/petmail/api/subscriptions/", {"email": "A@example.com "}).json()["results"]
    assert [row["email"] for row in data] == ["a@example.com"]


def test_unsubscribe_export_erase(api):
    sub = SubscriptionFactory(email="c@example.com")
    base = f"/petmail/api/subscriptions/{sub.pk}/"
    response = api.post(base + "unsubscribe/", {"reason": "por teléfono"}, format="json")
    assert response.status_code == 200
    assert response.json()["changed"] is True
    assert response.json()["unsubscribe_source"] == "api"
    assert api.post(base + "unsubscribe/", {}, format="json").json()["changed"] is False
    assert api.post(base + "unsubscribe/", {"reason": "x" * 300}, format="json").status_code == 400
    export = api.get(base + "export/").json()
    assert export["subscription"]["unsubscribe_reason"] == "por teléfono"
    erased = api.post(base + "erase/").json()
    assert erased["erased"] is True
    assert Suppression.objects.filter(email_hash=erased["email_hash"]).exists()
    assert api.get(base).status_code == 404
    assert api.post(base + "erase/").status_code == 404
