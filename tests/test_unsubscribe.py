"""Unsubscribe: the confirmation page (GET never changes state) and RFC 8058 one-click POST."""

import pytest
from django.test import Client
from django.utils import translation

from django_petmail import signals
from django_petmail.links import unsubscribe_url
from django_petmail.models import (
    ConsentEvent,
    ConsentEventType,
    EmailEvent,
    EnrollmentStatus,
    EventType,
    SendStatus,
    SubscriptionStatus,
    UnsubscribeSource,
)
from django_petmail.tokens import Purpose, make_token
from tests.factories import (
    EnrollmentFactory,
    OwnerFactory,
    SendFactory,
    SequenceFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"
FORM_URLENCODED = "application/x-www-form-urlencoded"


def path(sub, send_id=None):
    return unsubscribe_url(sub, send_id).removeprefix("https://clinic.test")


def one_click(url, body=ONE_CLICK, content_type=FORM_URLENCODED):
    """As a mailbox provider does it: no cookies, no CSRF token."""
    return Client(enforce_csrf_checks=True).post(url, body, content_type=content_type)


def unsubscribed_events(sub=None):
    events = ConsentEvent.objects.filter(event=ConsentEventType.UNSUBSCRIBED)
    return events.filter(subscription=sub) if sub is not None else events


def es(text):
    with translation.override("es"):
        return translation.gettext(text)


def assert_untouched(sub, status=SubscriptionStatus.ACTIVE):
    sub.refresh_from_db()
    assert sub.status == status
    assert sub.unsubscribed_at is None
    assert unsubscribed_events().count() == 0


# GET --------------------------------------------------------------------------------------------


def test_get_shows_a_button_and_a_preferences_link_and_changes_nothing(client, catch_signal):
    sub = SubscriptionFactory()
    left = catch_signal(signals.unsubscribed)

    response = client.get(path(sub))

    assert response.status_code == 200
    content = response.content.decode()
    assert '<form method="post"' in content
    assert '<button type="submit">' in content
    assert 'name="confirm" value="1"' in content
    assert es("Unsubscribe me") in content
    assert 'href="https://clinic.test/petmail/preferences/' in content
    assert sub.email in content
    assert response["Referrer-Policy"] == "no-referrer"
    assert_untouched(sub)
    assert left == []


def test_preferences_link_on_the_page_works(client):
    sub = SubscriptionFactory()
    response = client.get(path(sub))
    preferences = response.context["preferences_url"].removeprefix("https://clinic.test")
    assert client.get(preferences).status_code == 200


def test_repeated_gets_change_nothing(client):
    sub = SubscriptionFactory()
    for _ in range(3):
        client.get(path(sub))
    assert_untouched(sub)


# RFC 8058 one-click ---------------------------------------------------------------------------


def test_one_click_form_urlencoded(catch_signal):
    sub = SubscriptionFactory()
    left = catch_signal(signals.unsubscribed)

    response = one_click(path(sub))

    assert response.status_code == 200
    assert "Location" not in response
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.UNSUBSCRIBED
    assert sub.unsubscribe_source == UnsubscribeSource.ONE_CLICK
    assert sub.unsubscribed_at is not None
    event = unsubscribed_events(sub).get()
    assert event.source == UnsubscribeSource.ONE_CLICK
    assert event.ip_address == "127.0.0.1"
    assert len(left) == 1
    assert left[0]["source"] == UnsubscribeSource.ONE_CLICK


def test_one_click_multipart():
    sub = SubscriptionFactory()

    response = Client(enforce_csrf_checks=True).post(path(sub), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert "Location" not in response
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.UNSUBSCRIBED
    assert sub.unsubscribe_source == UnsubscribeSource.ONE_CLICK
    assert unsubscribed_events(sub).count() == 1


def test_one_click_unsubscribes_a_pending_subscription_too():
    sub = SubscriptionFactory(status=SubscriptionStatus.PENDING, confirmed_at=None)
    assert one_click(path(sub)).status_code == 200
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.UNSUBSCRIBED


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("List-Unsubscribe=Yes", FORM_URLENCODED),
        ("", FORM_URLENCODED),
        ("List-Unsubscribe=", FORM_URLENCODED),
        ("list-unsubscribe=one-click", FORM_URLENCODED),
        ("Unsubscribe=One-Click", FORM_URLENCODED),
        (ONE_CLICK, "text/plain"),
        ('{"List-Unsubscribe": "One-Click"}', "application/json"),
    ],
    ids=["yes", "empty", "no-value", "lowercase", "wrong-key", "text-plain", "json"],
)
def test_post_with_a_wrong_body_is_a_400_and_changes_nothing(body, content_type, catch_signal):
    sub = SubscriptionFactory()
    left = catch_signal(signals.unsubscribed)

    response = one_click(path(sub), body, content_type)

    assert response.status_code == 400
    assert_untouched(sub)
    assert left == []


def test_one_click_with_an_invalid_token_is_a_400():
    sub = SubscriptionFactory()
    token = make_token(Purpose.UNSUBSCRIBE, sub)
    for bad in (token[:-3], "garbage", make_token(Purpose.PREFERENCES, sub)):
        assert one_click(f"/petmail/unsubscribe/{bad}/").status_code == 400
    assert_untouched(sub)


def test_one_click_for_a_deleted_subscription_is_a_400():
    sub = SubscriptionFactory()
    url = path(sub)
    sub.delete()
    assert one_click(url).status_code == 400


# The page's button ---------------------------------------------------------------------------


def test_page_button_records_reason_and_source(client, catch_signal):
    sub = SubscriptionFactory()
    left = catch_signal(signals.unsubscribed)

    response = client.post(path(sub), {"confirm": "1", "reason": "Demasiados emails"})

    assert response.status_code == 200
    assert es("Unsubscribe confirmed") in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.UNSUBSCRIBED
    assert sub.unsubscribe_reason == "Demasiados emails"
    assert sub.unsubscribe_source == UnsubscribeSource.PAGE
    event = unsubscribed_events(sub).get()
    assert event.details["reason"] == "Demasiados emails"
    assert len(left) == 1
    assert left[0]["subscription"].pk == sub.pk
    assert left[0]["source"] == UnsubscribeSource.PAGE
    assert left[0]["reason"] == "Demasiados emails"


def test_page_button_without_a_reason(client):
    sub = SubscriptionFactory()
    assert client.post(path(sub), {"confirm": "1"}).status_code == 200
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.UNSUBSCRIBED
    assert sub.unsubscribe_reason == ""


def test_reason_with_line_breaks_is_stored_on_one_line(client):
    sub = SubscriptionFactory()
    client.post(path(sub), {"confirm": "1", "reason": "Demasiados\r\nemails"})
    sub.refresh_from_db()
    assert sub.unsubscribe_reason == "Demasiados emails"


def test_reason_over_255_characters_is_a_400_naming_reason(client):
    sub = SubscriptionFactory()

    response = client.post(path(sub), {"confirm": "1", "reason": "x" * 256})

    assert response.status_code == 400
    assert "reason" in response.context["form"].errors
    assert 'role="alert"' in response.content.decode()
    assert_untouched(sub)


def test_page_button_needs_no_csrf_token():
    sub = SubscriptionFactory()
    response = Client(enforce_csrf_checks=True).post(path(sub), {"confirm": "1"})
    assert response.status_code == 200
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.UNSUBSCRIBED


# Repeats --------------------------------------------------------------------------------------


def test_repeated_unsubscribe_is_harmless(client, catch_signal):
    sub = SubscriptionFactory()
    left = catch_signal(signals.unsubscribed)

    first = one_click(path(sub))
    sub.refresh_from_db()
    unsubscribed_at = sub.unsubscribed_at
    second = one_click(path(sub))
    third = client.post(path(sub), {"confirm": "1", "reason": "otra vez"})

    assert first.status_code == second.status_code == third.status_code == 200
    sub.refresh_from_db()
    assert sub.unsubscribed_at == unsubscribed_at
    assert sub.unsubscribe_source == UnsubscribeSource.ONE_CLICK
    assert sub.unsubscribe_reason == ""
    assert unsubscribed_events(sub).count() == 1
    assert len(left) == 1


def test_get_after_unsubscribing_shows_it_is_done(client):
    sub = SubscriptionFactory()
    one_click(path(sub))
    response = client.get(path(sub))
    assert response.status_code == 200
    assert es("Unsubscribe confirmed") in response.content.decode()


@pytest.mark.parametrize("status", [SubscriptionStatus.BOUNCED, SubscriptionStatus.COMPLAINED])
def test_bounced_or_complained_subscription_stays_so(client, status, catch_signal):
    sub = SubscriptionFactory(status=status)
    left = catch_signal(signals.unsubscribed)

    assert one_click(path(sub)).status_code == 200
    assert client.post(path(sub), {"confirm": "1"}).status_code == 200

    assert_untouched(sub, status)
    assert left == []


# Attribution to the send ------------------------------------------------------------------------


def test_unsubscribe_from_a_send_is_attributed_to_it():
    sub = SubscriptionFactory()
    send = SendFactory(subscription=sub, status=SendStatus.DELIVERED)
    url = path(sub, send.pk)

    assert one_click(url).status_code == 200
    assert one_click(url).status_code == 200

    send.refresh_from_db()
    assert send.status == SendStatus.UNSUBSCRIBED
    event = EmailEvent.objects.get(send=send)
    assert event.event_type == EventType.UNSUBSCRIBE
    send.campaign.refresh_from_db()
    assert send.campaign.unsubscribe_count == 1
    assert unsubscribed_events(sub).get().details.get("send") == send.pk


def test_page_button_is_attributed_once_too(client):
    sub = SubscriptionFactory()
    send = SendFactory(subscription=sub)
    url = path(sub, send.pk)

    client.post(url, {"confirm": "1"})
    one_click(url)
    client.post(url, {"confirm": "1"})

    send.campaign.refresh_from_db()
    assert send.campaign.unsubscribe_count == 1
    assert EmailEvent.objects.filter(send=send, event_type=EventType.UNSUBSCRIBE).count() == 1


def test_send_of_another_subscription_is_ignored():
    sub, other = SubscriptionFactory(), SubscriptionFactory()
    send = SendFactory(subscription=other, status=SendStatus.DELIVERED)

    assert one_click(path(sub, send.pk)).status_code == 200

    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.UNSUBSCRIBED
    send.refresh_from_db()
    assert send.status == SendStatus.DELIVERED
    assert EmailEvent.objects.count() == 0
    send.campaign.refresh_from_db()
    assert send.campaign.unsubscribe_count == 0
    other.refresh_from_db()
    assert other.status == SubscriptionStatus.ACTIVE


def test_send_that_no_longer_exists_is_ignored():
    sub = SubscriptionFactory()
    send = SendFactory(subscription=sub)
    url = path(sub, send.pk)
    send.delete()
    assert one_click(url).status_code == 200
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.UNSUBSCRIBED


# Sequences ------------------------------------------------------------------------------------


def test_marketing_enrollments_are_cancelled_and_others_stay():
    sub = SubscriptionFactory()
    marketing = EnrollmentFactory(subscription=sub)
    paused = EnrollmentFactory(subscription=sub, status=EnrollmentStatus.PAUSED)
    completed = EnrollmentFactory(subscription=sub, status=EnrollmentStatus.COMPLETED)
    service = EnrollmentFactory(subscription=sub, sequence=SequenceFactory(is_marketing=False))
    someone_else = EnrollmentFactory()

    one_click(path(sub))

    for enrollment in (marketing, paused, completed, service, someone_else):
        enrollment.refresh_from_db()
    assert marketing.status == EnrollmentStatus.CANCELLED
    assert paused.status == EnrollmentStatus.CANCELLED
    assert completed.status == EnrollmentStatus.COMPLETED
    assert service.status == EnrollmentStatus.ACTIVE
    assert someone_else.status == EnrollmentStatus.ACTIVE


def test_enrollments_of_the_linked_owner_are_cancelled():
    owner = OwnerFactory()
    sub = SubscriptionFactory(owner=owner, email=owner.email)
    by_owner = EnrollmentFactory(subscription=None, owner=owner)
    service = EnrollmentFactory(
        subscription=None, owner=owner, sequence=SequenceFactory(is_marketing=False)
    )

    one_click(path(sub))

    by_owner.refresh_from_db()
    service.refresh_from_db()
    assert by_owner.status == EnrollmentStatus.CANCELLED
    assert service.status == EnrollmentStatus.ACTIVE


# Methods ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_only_get_and_post(client, method):
    sub = SubscriptionFactory()
    assert getattr(client, method)(path(sub)).status_code == 405
    assert_untouched(sub)
