"""The "view in browser" page: the campaign as that subscriber received it, reachable only
with a view token for one of that subscriber's sends."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.signing import Signer

from django_petmail import campaigns
from django_petmail.links import unsubscribe_url, view_online_url
from django_petmail.models import EmailSend
from django_petmail.tokens import Purpose, make_token, resolve_token
from tests.factories import CampaignFactory, OwnerFactory, PetFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def path_of(url):
    return urlsplit(url).path


URL_PATTERNS = {
    "unsubscribe": (unsubscribe_url, Purpose.UNSUBSCRIBE),
    "view": (view_online_url, Purpose.VIEW),
}


def link_targets(page, kind):
    """(subscription, send) of each link of ``kind`` on the page."""
    make, purpose = URL_PATTERNS[kind]
    prefix = make(SubscriptionFactory.build(pk=1, email="x@example.com"), 1).rsplit("/", 2)[0]
    found = re.findall(re.escape(prefix) + r"/([^/\"]+)/", page)
    targets = []
    for token in found:
        subscription, data = resolve_token(purpose, token)
        targets.append((subscription.pk, data.send_id))
    return sorted(set(targets))


def without_urls(html):
    return re.sub(r'(href|src)="[^"]*"', r'\1=""', html)


def send_of(campaign, sub):
    return EmailSend.objects.get(campaign=campaign, subscription=sub)


@pytest.fixture
def sent():
    owner = OwnerFactory(first_name="Lucía")
    PetFactory(owner=owner, name="Luna")
    ana = SubscriptionFactory(first_name="Ana", owner=owner)
    luis = SubscriptionFactory(first_name="Luis")
    campaign = CampaignFactory(
        subject="Para {{ pet_name }}",
        preview_text="Novedades de {{ pet_name }}",
        html_content="<p>Hola {{ first_name }}, mima a {{ pet_name }}</p>",
    )
    campaigns.start(campaign)
    return campaign, ana, luis


def test_shows_the_campaign_as_the_subscriber_received_it(client, sent):
    campaign, ana, _ = sent
    send = send_of(campaign, ana)

    response = client.get(path_of(view_online_url(ana, send.pk)))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert "Hola Ana, mima a Luna" in page
    assert "Novedades de Luna" in page
    # the personal links are there, and name this subscriber and send (tokens carry the time
    # they were signed, so the page's are compared by what they resolve to, not as text)
    assert link_targets(page, "unsubscribe") == [(ana.pk, send.pk)]
    assert link_targets(page, "view") == [(ana.pk, send.pk)]
    [message] = [m for m in mail.outbox if m.to == [ana.email]]
    html = message.alternatives[0][0]
    body = page.split("<body")[1].split("</body>")[0]
    assert without_urls(body) in without_urls(html)  # the same message (plus its pixel)
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Robots-Tag"] == "noindex"


def test_each_subscriber_sees_their_own_message(client, sent):
    campaign, _, luis = sent
    page = client.get(path_of(view_online_url(luis, send_of(campaign, luis).pk))).content
    assert b"Hola Luis" in page
    assert b"Ana" not in page


def test_values_are_escaped(client):
    sub = SubscriptionFactory(first_name="<script>alert(1)</script>")
    campaign = CampaignFactory(html_content="<p>Hola {{ first_name }}</p>")
    campaigns.start(campaign)
    page = client.get(path_of(view_online_url(sub, send_of(campaign, sub).pk))).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_shows_the_variant_the_subscriber_got(client):
    subs = SubscriptionFactory.create_batch(4)
    campaign = CampaignFactory(
        is_ab_test=True,
        html_content="<p>Variante A</p>",
        ab_html_content_b="<p>Variante B</p>",
        ab_test_percent=50,
    )
    campaigns.start(campaign)
    for sub in subs:
        send = send_of(campaign, sub)
        page = client.get(path_of(view_online_url(sub, send.pk))).content.decode()
        if send.ab_variant == "B":
            assert "Variante B" in page and "Variante A" not in page
        else:  # A, or held until the winner: variant A's content
            assert "Variante A" in page and "Variante B" not in page


@pytest.mark.parametrize(
    "token",
    [
        lambda sub, send: make_token(Purpose.UNSUBSCRIBE, sub, send.pk),
        lambda sub, send: make_token(Purpose.PREFERENCES, sub, send.pk),
        lambda sub, send: make_token(Purpose.CONFIRM, sub),
        lambda sub, send: make_token(Purpose.VIEW, sub, send.pk)[:-3] + "abc",
        lambda sub, send: "garbage",
        lambda sub, send: Signer(salt="django_petmail.tokens.view").sign_object({"s": sub.pk}),
        lambda sub, send: Signer(salt="django_petmail.tokens.view").sign_object(
            {"s": sub.pk, "a": "0" * 16, "m": send.pk}
        ),
    ],
    ids=["unsubscribe", "preferences", "confirm", "tampered", "garbage", "no-digest", "bad-digest"],
)
def test_a_token_that_is_not_a_valid_view_token_is_a_400(client, sent, token):
    campaign, ana, _ = sent
    response = client.get(f"/petmail/view/{token(ana, send_of(campaign, ana))}/")
    assert response.status_code == 400
    assert b"Hola Ana" not in response.content


def test_the_send_of_another_subscription_is_a_404(client, sent):
    campaign, ana, luis = sent
    forged = make_token(Purpose.VIEW, ana, send_of(campaign, luis).pk)
    response = client.get(f"/petmail/view/{forged}/")
    assert response.status_code == 404
    assert b"Luis" not in response.content


def test_a_missing_send_is_a_404(client, sent):
    campaign, ana, _ = sent
    send = send_of(campaign, ana)
    token = make_token(Purpose.VIEW, ana, send.pk)
    send.delete()
    assert client.get(f"/petmail/view/{token}/").status_code == 404
    assert client.get(f"/petmail/view/{make_token(Purpose.VIEW, ana)}/").status_code == 404
    assert client.get(f"/petmail/view/{make_token(Purpose.VIEW, ana, 10**9)}/").status_code == 404


def test_a_token_does_not_outlive_a_changed_address_or_an_erasure(client, sent):
    campaign, ana, luis = sent
    url = path_of(view_online_url(ana, send_of(campaign, ana).pk))
    ana.email = "otra@example.com"
    ana.save()
    assert client.get(url).status_code == 400
    gone = path_of(view_online_url(luis, send_of(campaign, luis).pk))
    luis.delete()
    assert client.get(gone).status_code == 400


def test_only_get(client, sent):
    campaign, ana, _ = sent
    url = path_of(view_online_url(ana, send_of(campaign, ana).pk))
    assert client.post(url).status_code == 405
