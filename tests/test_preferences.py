"""The preference center: reached by a signed token, no login, changes recorded in the ledger."""

import re

import pytest
from django.test import Client
from django.utils import translation
from django.utils.html import escape

from django_petmail import signals
from django_petmail.links import preferences_url
from django_petmail.models import ConsentEvent, ConsentEventType, SubscriptionStatus
from django_petmail.tokens import Purpose, make_token
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def path(sub, purpose=Purpose.PREFERENCES):
    return f"/petmail/preferences/{make_token(purpose, sub)}/"


def current(sub):
    sub.refresh_from_db()
    return {
        "frequency": sub.frequency,
        "topics": sub.topics,
        "language": sub.language,
        "is_paused": sub.is_paused,
    }


def as_post(values):
    data = {k: v for k, v in values.items() if k != "is_paused"}
    if values.get("is_paused"):
        data["is_paused"] = "on"
    return data


def input_tags(content, name):
    return [tag for tag in re.findall(r"<input[^>]*>", content) if f'name="{name}"' in tag]


def changed_events():
    return ConsentEvent.objects.filter(event=ConsentEventType.PREFERENCES_CHANGED)


def gettext_in(language, text):
    with translation.override(language):
        return translation.gettext(text)


@pytest.fixture
def sub():
    return SubscriptionFactory(
        frequency="monthly", topics=["promotions", "news"], language="es", is_paused=False
    )


def test_get_shows_the_current_values(client, sub):
    response = client.get(path(sub))

    assert response.status_code == 200
    content = response.content.decode()
    assert sub.email in content
    form = response.context["form"]
    assert form["frequency"].value() == "monthly"
    assert form["topics"].value() == ["promotions", "news"]
    assert form["language"].value() == "es"
    assert not form["is_paused"].value()
    assert '<option value="monthly" selected>' in content
    checked = {
        re.search(r'value="([^"]+)"', tag).group(1)
        for tag in input_tags(content, "topics")
        if " checked" in tag
    }
    assert checked == {"promotions", "news"}
    assert all(" checked" not in tag for tag in input_tags(content, "is_paused"))
    assert 'href="https://clinic.test/petmail/unsubscribe/' in content
    assert response["Referrer-Policy"] == "no-referrer"


def test_get_changes_nothing(client, sub):
    before = current(sub)
    client.get(path(sub))
    assert current(sub) == before
    assert ConsentEvent.objects.count() == 0


def test_post_saves_every_preference(client, sub, catch_signal):
    changed = catch_signal(signals.preferences_changed)
    new = {
        "frequency": "important_only",
        "topics": ["pet_tips", "reminders"],
        "language": "en",
        "is_paused": True,
    }

    response = client.post(path(sub), as_post(new), HTTP_USER_AGENT="Browser")

    assert response.status_code == 200
    assert response.context["saved"] is True
    assert current(sub) == new

    event = changed_events().get()
    assert event.subscription == sub
    assert event.ip_address == "127.0.0.1"
    assert event.user_agent == "Browser"
    assert event.details == {
        "frequency": {"old": "monthly", "new": "important_only"},
        "topics": {"old": ["promotions", "news"], "new": ["pet_tips", "reminders"]},
        "language": {"old": "es", "new": "en"},
        "is_paused": {"old": False, "new": True},
    }

    assert len(changed) == 1
    assert changed[0]["subscription"].pk == sub.pk
    assert changed[0]["changes"] == {
        "frequency": ("monthly", "important_only"),
        "topics": (["promotions", "news"], ["pet_tips", "reminders"]),
        "language": ("es", "en"),
        "is_paused": (False, True),
    }


def test_post_changing_one_field_records_only_that_field(client, sub, catch_signal):
    changed = catch_signal(signals.preferences_changed)
    values = {**current(sub), "frequency": "weekly"}

    assert client.post(path(sub), as_post(values)).status_code == 200

    assert current(sub)["frequency"] == "weekly"
    assert changed_events().get().details == {"frequency": {"old": "monthly", "new": "weekly"}}
    assert changed[0]["changes"] == {"frequency": ("monthly", "weekly")}


def test_unpausing_is_saved(client):
    sub = SubscriptionFactory(is_paused=True, topics=["news"])
    values = {**current(sub), "is_paused": False}
    client.post(path(sub), as_post(values))
    assert current(sub)["is_paused"] is False


def test_post_without_changes_writes_no_consent_event(client, sub, catch_signal):
    changed = catch_signal(signals.preferences_changed)
    before = current(sub)

    response = client.post(path(sub), as_post(before))

    assert response.status_code == 200
    assert current(sub) == before
    assert changed_events().count() == 0
    assert changed == []


def test_same_topics_in_another_order_are_not_a_change(client, catch_signal):
    # A browser submits checkboxes in page order, whatever order they were stored in.
    sub = SubscriptionFactory(topics=["news", "promotions"])
    changed = catch_signal(signals.preferences_changed)
    values = {**current(sub), "topics": ["promotions", "news"]}

    client.post(path(sub), as_post(values))

    assert changed_events().count() == 0
    assert changed == []


def test_unticking_every_topic_is_saved(client, sub):
    values = current(sub)
    data = as_post(values)
    del data["topics"]
    assert client.post(path(sub), data).status_code == 200
    assert current(sub)["topics"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("frequency", "daily"),
        ("frequency", ""),
        ("topics", ["news", "casino"]),
        ("language", "fr"),
        ("language", ""),
    ],
    ids=["frequency", "empty-frequency", "topic", "language", "empty-language"],
)
def test_invalid_value_is_a_400_naming_the_field_and_changes_nothing(client, sub, field, value):
    before = current(sub)
    data = {**as_post(before), field: value}

    response = client.post(path(sub), data)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors
    content = response.content.decode()
    for message in errors[field]:
        assert escape(message) in content
    assert current(sub) == before
    assert ConsentEvent.objects.count() == 0


def test_page_is_in_the_subscribers_language():
    sub = SubscriptionFactory(language="en")
    response = Client(HTTP_ACCEPT_LANGUAGE="es").get(path(sub))

    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    content = response.content.decode()
    assert '<html lang="en">' in content
    for english in ("Email preferences", "Save preferences", "Frequency", "Topics"):
        spanish = gettext_in("es", english)
        assert spanish != english, f"the es catalog has no translation of {english!r}"
        assert english in content
        assert spanish not in content


def test_page_follows_a_language_change_at_once(client, sub):
    response = client.post(path(sub), as_post({**current(sub), "language": "en"}))
    assert response["Content-Language"] == "en"


@pytest.mark.parametrize("purpose", [Purpose.CONFIRM, Purpose.UNSUBSCRIBE])
def test_token_of_another_purpose_is_a_400(client, sub, purpose):
    before = current(sub)
    for response in (
        client.get(path(sub, purpose)),
        client.post(path(sub, purpose), as_post({**before, "frequency": "weekly"})),
    ):
        assert response.status_code == 400
        assert "django_petmail/invalid_link.html" in [t.name for t in response.templates]
    assert current(sub) == before


@pytest.mark.parametrize("token", ["garbage", "a:b:c", "x" * 600])
def test_garbage_token_is_a_400(client, token):
    assert client.get(f"/petmail/preferences/{token}/").status_code == 400


def test_token_of_a_changed_address_is_a_400(client, sub):
    url = path(sub)
    sub.email = "new.address@example.com"
    sub.save()
    assert client.get(url).status_code == 400


def test_no_login_and_no_cookies_needed(sub):
    client = Client()
    response = client.get(preferences_url(sub).removeprefix("https://clinic.test"))
    assert response.status_code == 200
    assert not response.cookies
    response = client.post(path(sub), as_post({**current(sub), "frequency": "weekly"}))
    assert response.status_code == 200
    assert current(sub)["frequency"] == "weekly"


def test_no_csrf_token_needed(sub):
    client = Client(enforce_csrf_checks=True)
    response = client.post(path(sub), as_post({**current(sub), "frequency": "weekly"}))
    assert response.status_code == 200
    assert current(sub)["frequency"] == "weekly"


def test_unsubscribed_subscriber_may_still_see_the_page(client):
    sub = SubscriptionFactory(status=SubscriptionStatus.UNSUBSCRIBED)
    response = client.get(path(sub))
    assert response.status_code == 200
    assert gettext_in("es", "This address is not receiving our emails right now.") in (
        response.content.decode()
    )


@pytest.mark.parametrize("method", ["put", "delete"])
def test_only_get_and_post(client, sub, method):
    assert getattr(client, method)(path(sub)).status_code == 405


def test_topic_labels_follow_the_page_language():
    """The labels stay lazy until the page renders in the subscriber's language."""
    sub = SubscriptionFactory(language="en")
    content = Client(HTTP_ACCEPT_LANGUAGE="es").get(path(sub)).content.decode()
    for english in ("Tips for your pet", "Clinic news", "Promotions"):
        assert english in content
        assert gettext_in("es", english) not in content


def test_topic_labels_in_spanish_for_a_spanish_subscriber():
    sub = SubscriptionFactory(language="es")
    content = Client(HTTP_ACCEPT_LANGUAGE="en").get(path(sub)).content.decode()
    assert gettext_in("es", "Tips for your pet") in content
