"""The double opt-in confirmation link: scanner-safe GET, one-time POST, expiry and resend."""

import re
import time
from unittest import mock

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import translation

from django_petmail import signals
from django_petmail.models import ConsentEvent, ConsentEventType, SubscriptionStatus
from django_petmail.tokens import Purpose, make_token
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

RESEND = "/petmail/confirm/resend/"
DONE = "/petmail/subscribe/done/"
CONFIRM_LINK = re.compile(r"https://clinic\.test(/petmail/confirm/[^/\s\"<>]+/)")


def pending(**kwargs):
    return SubscriptionFactory(status=SubscriptionStatus.PENDING, confirmed_at=None, **kwargs)


def confirm_path(token):
    return f"/petmail/confirm/{token}/"


def link(sub):
    return confirm_path(make_token(Purpose.CONFIRM, sub))


def expired_link_token(sub):
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 8 * 86400):
        return make_token(Purpose.CONFIRM, sub)


def es(text):
    with translation.override("es"):
        return translation.gettext(text)


def confirmed_events(sub):
    return ConsentEvent.objects.filter(subscription=sub, event=ConsentEventType.CONFIRMED)


def is_invalid_link_page(response):
    return "django_petmail/invalid_link.html" in [t.name for t in response.templates]


# GET never changes state ----------------------------------------------------------------------


def test_get_shows_a_confirm_button_and_changes_nothing(client, catch_signal):
    sub = pending()
    confirmed = catch_signal(signals.confirmed)

    response = client.get(link(sub))

    assert response.status_code == 200
    content = response.content.decode()
    assert '<form method="post"' in content
    assert '<button type="submit">' in content
    assert es("Confirm subscription") in content
    assert sub.email in content
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.PENDING
    assert sub.confirmed_at is None
    assert ConsentEvent.objects.count() == 0
    assert confirmed == []


def test_head_and_repeated_gets_change_nothing(client):
    sub = pending()
    path = link(sub)
    for _ in range(3):
        assert client.get(path).status_code == 200
    client.head(path)
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.PENDING


# POST confirms once ---------------------------------------------------------------------------


def test_post_confirms(client, catch_signal):
    sub = pending()
    confirmed = catch_signal(signals.confirmed)

    response = client.post(link(sub), HTTP_USER_AGENT="Mail client")

    assert response.status_code == 200
    assert es("Thank you! You are now subscribed.") in response.content.decode()
    assert "https://clinic.test/petmail/preferences/" in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE
    assert sub.confirmed_at is not None
    event = confirmed_events(sub).get()
    assert event.ip_address == "127.0.0.1"
    assert event.user_agent == "Mail client"
    assert len(confirmed) == 1
    assert confirmed[0]["subscription"] == sub


def test_post_needs_no_csrf_token_or_cookie(client):
    from django.test import Client

    sub = pending()
    response = Client(enforce_csrf_checks=True).post(link(sub))
    assert response.status_code == 200
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE


def test_replayed_post_is_harmless(client, catch_signal):
    sub = pending()
    path = link(sub)
    confirmed = catch_signal(signals.confirmed)

    first = client.post(path)
    sub.refresh_from_db()
    confirmed_at = sub.confirmed_at
    second = client.post(path)

    assert first.status_code == second.status_code == 200
    assert es("Your subscription was already confirmed.") in second.content.decode()
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE
    assert sub.confirmed_at == confirmed_at
    assert confirmed_events(sub).count() == 1
    assert len(confirmed) == 1


def test_get_after_confirmation_says_already(client):
    sub = pending()
    path = link(sub)
    client.post(path)

    response = client.get(path)

    assert response.status_code == 200
    assert es("Your subscription was already confirmed.") in response.content.decode()
    assert confirmed_events(sub).count() == 1


# Wrong tokens -----------------------------------------------------------------------------------


def test_confirm_token_does_not_unsubscribe(client):
    sub = SubscriptionFactory()
    token = make_token(Purpose.CONFIRM, sub)
    for response in (
        client.get(f"/petmail/unsubscribe/{token}/"),
        client.post(f"/petmail/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"}),
        client.post(f"/petmail/unsubscribe/{token}/", {"confirm": "1"}),
    ):
        assert response.status_code == 400
        assert is_invalid_link_page(response)
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE


@pytest.mark.parametrize("purpose", [Purpose.UNSUBSCRIBE, Purpose.PREFERENCES])
def test_other_tokens_do_not_confirm(client, purpose):
    sub = pending()
    token = make_token(purpose, sub)
    for response in (client.get(confirm_path(token)), client.post(confirm_path(token))):
        assert response.status_code == 400
        assert is_invalid_link_page(response)
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.PENDING
    assert ConsentEvent.objects.count() == 0


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: ("B" if t[0] == "A" else "A") + t[1:],
        lambda t: t[:-1] + ("B" if t[-1] == "A" else "A"),
        lambda t: t[:-5],
        lambda t: t.split(":")[0],
        lambda t: "garbage",
        lambda t: "x" * 600,
        lambda t: t + "A" * 500,
    ],
    ids=["payload", "signature", "truncated", "no-signature", "garbage", "huge", "padded"],
)
def test_spoiled_token_is_a_400(client, spoil):
    sub = pending()
    path = confirm_path(spoil(make_token(Purpose.CONFIRM, sub)))
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400
        assert is_invalid_link_page(response)
        assert es("Invalid link") in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.PENDING


def test_link_of_a_deleted_subscription_is_a_400(client):
    sub = pending()
    path = link(sub)
    sub.delete()
    assert client.get(path).status_code == 400
    assert client.post(path).status_code == 400
    assert ConsentEvent.objects.filter(event=ConsentEventType.CONFIRMED).count() == 0


def test_link_of_a_subscription_that_has_since_unsubscribed_does_not_reactivate_it(client):
    sub = pending()
    path = link(sub)
    sub.status = SubscriptionStatus.UNSUBSCRIBED
    sub.save()

    assert client.get(path).status_code == 400
    assert client.post(path).status_code == 400
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.UNSUBSCRIBED
    assert confirmed_events(sub).count() == 0


@pytest.mark.parametrize("status", [SubscriptionStatus.BOUNCED, SubscriptionStatus.COMPLAINED])
def test_link_of_a_bounced_or_complained_subscription_does_not_reactivate_it(client, status):
    sub = pending()
    path = link(sub)
    sub.status = status
    sub.save()
    assert client.post(path).status_code == 400
    sub.refresh_from_db()
    assert sub.status == status


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_only_get_and_post(client, method):
    sub = pending()
    response = getattr(client, method)(link(sub))
    assert response.status_code == 405
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.PENDING


# Expired link and resend -----------------------------------------------------------------------


def test_expired_link_offers_a_fresh_one(client):
    sub = pending()
    token = expired_link_token(sub)

    for response in (client.get(confirm_path(token)), client.post(confirm_path(token))):
        assert response.status_code == 410
        content = response.content.decode()
        assert es("The link has expired") in content
        assert f'action="{RESEND}"' in content
        assert f'value="{token}"' in content
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.PENDING


def test_resend_sends_a_fresh_link_that_works(client, django_capture_on_commit_callbacks):
    sub = pending()
    token = expired_link_token(sub)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RESEND, {"token": token})

    assert response.status_code == 303
    assert response["Location"] == DONE
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [sub.email]
    fresh = CONFIRM_LINK.search(mail.outbox[0].body).group(1)
    assert fresh != confirm_path(token)

    assert client.post(fresh).status_code == 200
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE
    assert confirmed_events(sub).count() == 1


def test_resend_for_an_already_confirmed_subscription_sends_nothing(
    client, django_capture_on_commit_callbacks
):
    sub = SubscriptionFactory()
    token = expired_link_token(sub)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RESEND, {"token": token})
    assert response.status_code == 303
    assert response["Location"] == DONE
    assert mail.outbox == []


@pytest.mark.parametrize(
    "data",
    [{"token": "garbage"}, {"token": ""}, {}, {"token": "x" * 600}],
    ids=["garbage", "empty", "missing", "huge"],
)
def test_resend_with_a_bad_token_is_a_400(client, data, django_capture_on_commit_callbacks):
    pending()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RESEND, data)
    assert response.status_code == 400
    assert mail.outbox == []


def test_resend_with_another_purpose_token_is_a_400(client):
    sub = pending()
    response = client.post(RESEND, {"token": make_token(Purpose.UNSUBSCRIBE, sub)})
    assert response.status_code == 400
    assert mail.outbox == []


def test_resend_accepts_get_and_post_only(client):
    assert client.put(RESEND).status_code == 405


def test_resend_is_rate_limited_per_ip(client, settings):
    sub = SubscriptionFactory(status="pending")
    token = make_token(Purpose.CONFIRM, sub)
    limited = {**settings.PETMAIL, "SUBSCRIBE_RATE_LIMIT_PER_IP": "1/h"}
    with override_settings(PETMAIL=limited):
        assert client.post("/petmail/confirm/resend/", {"token": token}).status_code == 303
        assert client.post("/petmail/confirm/resend/", {"token": token}).status_code == 429


def test_get_on_resend_goes_to_the_subscribe_form(client):
    response = client.get(RESEND)
    assert response.status_code == 302
    assert response["Location"] == "/petmail/subscribe/"
