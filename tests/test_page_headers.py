"""Public pages never leak their token through the Referer header, and stay uncached."""

import pytest

from django_petmail.links import preferences_url, unsubscribe_url
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_subscribe_page_keeps_a_same_origin_referrer_for_csrf(client):
    response = client.get("/petmail/subscribe/")
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("make_url", [unsubscribe_url, preferences_url])
def test_token_pages_send_no_referrer(client, make_url):
    url = make_url(SubscriptionFactory()).removeprefix("https://clinic.test")
    response = client.get(url)
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"


def test_invalid_token_page_sends_no_referrer(client):
    response = client.get("/petmail/unsubscribe/garbage/")
    assert response.status_code == 400
    assert response["Referrer-Policy"] == "no-referrer"
