"""First-party tracking: the open pixel, links rewritten once per compiled content, machine
opens kept apart, unsafe links refused when content is saved, and messages that still work
with tracking off."""

from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone, translation

import django_petmail
from django_petmail import campaigns
from django_petmail.analytics import campaign_report
from django_petmail.conf import petmail_settings
from django_petmail.exceptions import PetmailImproperlyConfigured
from django_petmail.links import unsubscribe_url
from django_petmail.models import (
    AutomatedSequence,
    EmailCampaign,
    EmailEvent,
    EmailSend,
    EmailTemplate,
    EventType,
    SendStatus,
    SequenceStep,
)
from django_petmail.rendering import compose
from django_petmail.rendering.compose import compile_content
from django_petmail.rendering.tracking import track_links, unsafe_link_error
from django_petmail.sequences.progression import process
from django_petmail.tokens import make_open_token
from django_petmail.tracking.firstparty import client_address, is_privacy_proxy
from tests.factories import CampaignFactory, SubscriptionFactory
from tests.tracking_utils import (
    APPLE_MAIL,
    BROWSER,
    age,
    click_paths,
    html_of,
    pixel_path,
    send_campaign,
)

pytestmark = pytest.mark.django_db

LINKS = (
    '<p><a href="https://huellas.example/otono?a=1&amp;b=2" data-tag="otoño">Leer</a> '
    '<a href="mailto:hola@huellas.example">Escríbenos</a> <a href="tel:+34911222333">Llama</a> '
    '<a href="#arriba">Arriba</a> '
    '<a href="https://huellas.example/p/{{ pet_name }}">Tu mascota</a> '
    '<a href="https://huellas.example/tienda" title="Tienda">Tienda</a></p>'
)


def counts(campaign):
    campaign = EmailCampaign.objects.get(pk=campaign.pk)
    return campaign.open_count, campaign.click_count


def test_the_pixel_records_one_unique_open_and_counts_once(client):
    SubscriptionFactory()
    campaign, [send] = send_campaign("<p>Hola</p>")
    path = pixel_path(send)

    first = client.get(path, HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="203.0.113.9")
    client.get(path, HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="203.0.113.9")  # opened again

    assert first.status_code == 200
    assert first["Content-Type"] == "image/gif"
    assert first.content.startswith(b"GIF89a")
    assert first["Cache-Control"] == "no-store"
    send.refresh_from_db()
    assert send.status == SendStatus.OPENED and send.opened_at is not None
    assert counts(campaign) == (1, 0)
    events = EmailEvent.objects.filter(send=send, event_type=EventType.OPEN)
    assert events.count() == 2
    event = events.first()
    assert event.esp_event_id is None and not event.is_machine
    assert (event.ip_address, event.user_agent) == ("203.0.113.9", BROWSER)


def test_the_pixel_is_added_once_and_links_point_to_click_urls():
    SubscriptionFactory()
    _, [send] = send_campaign(LINKS)
    html = html_of(send)

    assert html.count("/o/") == 1
    assert html.index("/o/") < html.index("</body>")
    assert len(click_paths(send)) == 2  # the two literal web links
    assert 'href="mailto:hola@huellas.example"' in html
    assert 'href="tel:+34911222333"' in html
    assert 'href="#arriba"' in html
    assert 'href="https://huellas.example/p/' in html  # personalized: not tracked
    assert f'href="{unsubscribe_url(send.subscription, send.pk)}"' in html
    [message] = mail.outbox
    assert "https://huellas.example/otono?a=1&b=2" in message.body  # the text part as written


@override_settings(PETMAIL={**petmail_settings.user_settings, "TRACK_OPENS": False})
def test_no_pixel_when_opens_are_not_tracked():
    SubscriptionFactory()
    _, [send] = send_campaign(LINKS)
    html = html_of(send)
    assert "/o/" not in html
    assert len(click_paths(send)) == 2


@override_settings(
    PETMAIL={**petmail_settings.user_settings, "TRACK_OPENS": False, "TRACK_CLICKS": False}
)
def test_messages_work_with_tracking_off():
    SubscriptionFactory(first_name="Ana")
    _, [send] = send_campaign("<p>Hola {{ first_name }}</p>" + LINKS)
    html = html_of(send)
    assert "Hola Ana" in html
    assert "/o/" not in html and "/c/" not in html and "click_urls" not in html
    assert 'href="https://huellas.example/otono?a=1&amp;b=2"' in html
    assert send.status == SendStatus.SENT


def test_links_are_rewritten_once_per_compiled_content_not_per_recipient():
    for _ in range(3):
        SubscriptionFactory(language="es")
    with mock.patch.object(compose, "track_links", wraps=compose.track_links) as rewrite:
        _, sends = send_campaign(LINKS, subscribers=3)
    assert rewrite.call_count == 1
    paths = [click_paths(send) for send in sends]
    assert len({path for send_paths in paths for path in send_paths}) == 6  # each its own


def test_previews_show_the_links_themselves_and_no_pixel():
    sub = SubscriptionFactory()
    campaign = CampaignFactory(html_content=LINKS)
    rendered = campaigns.preview(campaign, subscription=sub)
    assert 'href="https://huellas.example/otono?a=1&amp;b=2"' in rendered["html"]
    assert "/c/" not in rendered["html"] and "/o/" not in rendered["html"]
    assert campaigns.unknown_tokens(campaign) == []


def test_link_tags_come_from_data_tag_title_or_position():
    _, links = track_links(
        '<a href="https://a.example" data-tag="  Otoño   2024 ">x</a>'
        '<a title="Tienda" href="https://b.example">y</a>'
        "<A HREF=https://c.example>z</A>"
        '<a href="https://d.example" data-petmail-notrack>n</a>'
        "<a name=top>t</a>",
        rewrite=False,
    )
    assert [(link.index, link.url, link.tag) for link in links] == [
        (0, "https://a.example", "Otoño 2024"),
        (1, "https://b.example", "Tienda"),
        (2, "https://c.example", "2"),
    ]


def test_compile_without_tracking_still_knows_the_links():
    with override_settings(PETMAIL={**petmail_settings.user_settings, "TRACK_CLICKS": False}):
        content = compile_content(subject="s", html=LINKS)
    assert not content.tracks_clicks
    assert content.link_urls == [
        "https://huellas.example/otono?a=1&b=2",
        "https://huellas.example/tienda",
    ]


# -- machine opens ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "ip"),
    [
        ("Mozilla/5.0", "203.0.113.9"),  # Apple Mail Privacy Protection's proxy
        (APPLE_MAIL, "17.58.1.20"),  # a mail client's fetch from Apple's network
        ("", "203.0.113.9"),  # no user agent at all
    ],
)
def test_privacy_proxy_opens_are_stored_as_machine_opens_and_not_counted(client, user_agent, ip):
    SubscriptionFactory()
    campaign, [send] = send_campaign("<p>Hola</p>")

    response = client.get(pixel_path(send), HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)

    assert response.status_code == 200
    [event] = EmailEvent.objects.filter(send=send)
    assert event.is_machine and event.event_type == EventType.OPEN
    assert event.ip_address == ip
    send.refresh_from_db()
    assert send.opened_at is None and send.status == SendStatus.SENT
    assert counts(campaign) == (0, 0)
    report = campaign_report(campaign)  # reported apart from people's opens
    assert (report.machine_opens, report.opens_total, report.opens_unique) == (1, 0, 0)


def test_a_person_on_apple_mail_is_counted(client):
    SubscriptionFactory()
    campaign, [send] = send_campaign("<p>Hola</p>")
    client.get(pixel_path(send), HTTP_USER_AGENT=APPLE_MAIL, REMOTE_ADDR="198.51.100.7")
    assert not EmailEvent.objects.get(send=send).is_machine
    assert counts(campaign) == (1, 0)


def test_opens_and_clicks_within_seconds_of_sending_are_machine(client):
    SubscriptionFactory()
    campaign, [send] = send_campaign(LINKS)
    age(send, seconds=0)

    client.get(pixel_path(send), HTTP_USER_AGENT=BROWSER)
    response = client.get(click_paths(send)[0], HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302  # a scanner is still sent on
    assert list(EmailEvent.objects.filter(send=send).values_list("is_machine", flat=True)) == [
        True,
        True,
    ]
    assert counts(campaign) == (0, 0)
    send.refresh_from_db()
    assert send.clicked_at is None and send.opened_at is None


def test_the_delivery_time_counts_when_the_esp_reported_it(client):
    SubscriptionFactory()
    _, [send] = send_campaign("<p>Hola</p>")
    EmailSend.objects.filter(pk=send.pk).update(delivered_at=timezone.now())
    client.get(pixel_path(send), HTTP_USER_AGENT=BROWSER)
    assert EmailEvent.objects.get(send=send).is_machine


@override_settings(
    PETMAIL={
        **petmail_settings.user_settings,
        "MACHINE_OPEN_SECONDS": 0,
        "MACHINE_OPEN_NETWORKS": [],
    }
)
def test_the_heuristics_can_be_switched_off(client):
    SubscriptionFactory()
    campaign, [send] = send_campaign("<p>Hola</p>")
    age(send, seconds=0)
    client.get(pixel_path(send), HTTP_USER_AGENT=APPLE_MAIL, REMOTE_ADDR="17.58.1.20")
    assert not EmailEvent.objects.get(send=send).is_machine
    assert counts(campaign) == (1, 0)


def test_a_head_request_is_a_machine(client):
    SubscriptionFactory()
    campaign, [send] = send_campaign("<p>Hola</p>")
    response = client.head(pixel_path(send), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    assert EmailEvent.objects.get(send=send).is_machine
    assert counts(campaign) == (0, 0)


def test_the_pixel_refuses_other_methods_and_bad_tokens(client):
    SubscriptionFactory()
    _, [send] = send_campaign("<p>Hola</p>")
    path = pixel_path(send)
    assert client.post(path).status_code == 405
    token = make_open_token(send.pk)
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # tampered signature
        f"{send.pk + 1}.{token.split('.')[1]}",  # another send, same signature
        "abc",
        "0" + token,
        "1" * 30 + ".x",
        "x" * 200,
    ):
        response = client.get(f"/petmail/o/{bad}.gif", HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 404, bad
    deleted = make_open_token(send.pk + 1000)
    assert client.get(f"/petmail/o/{deleted}.gif").status_code == 404  # unknown send
    assert not EmailEvent.objects.exists()


# -- unsafe links -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "jav&#x61;script:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox",
    ],
)
def test_links_that_run_code_are_refused_when_content_is_saved(api, href):
    html = f'<p>Hola</p>\n<p><a href="{href}">clic</a></p>'
    with translation.override("en"):
        assert "line 2: links may not use" in unsafe_link_error(html)
        response = api.post(
            "/petmail/api/campaigns/",
            {"name": "x", "subject": "Hola", "html_content": html},
            format="json",
            HTTP_ACCEPT_LANGUAGE="en",  # the request's language, not the test's
        )
        assert response.status_code == 400
        assert "links may not use" in response.json()["html_content"][0]
        template = EmailTemplate(name="t", slug="t", subject="s", html_content=html)
        with pytest.raises(ValidationError) as caught:
            template.full_clean()
        assert "html_content" in caught.value.message_dict
        campaign = CampaignFactory.build(html_content="<p>x</p>", ab_html_content_b=html)
        campaign.is_ab_test = True
        campaign.ab_subject_b = "B"
        assert "ab_html_content_b" in campaigns.content_errors(campaign)


def test_safe_links_and_images_are_accepted():
    html = (
        '<a href="https://a.example">a</a><a href="mailto:x@y.example">m</a>'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt=""><a href="{{ unsubscribe_url }}">u</a>'
    )
    assert unsafe_link_error(html) is None


# -- sequences ----------------------------------------------------------------------------


def test_a_sequence_step_send_is_tracked(client):
    sequence = AutomatedSequence.objects.create(name="gracias", trigger_type="purchase")
    step = SequenceStep.objects.create(
        sequence=sequence,
        step_number=1,
        subject="Gracias",
        html_content='<p><a href="https://huellas.example/resena">Opina</a></p>',
    )
    subscription = SubscriptionFactory()
    django_petmail.trigger("purchase", subscription, amount=10)
    process(now=timezone.now())
    send = EmailSend.objects.get(sequence_step=step)
    age(send)

    client.get(pixel_path(send), HTTP_USER_AGENT=BROWSER)
    [click] = click_paths(send)
    response = client.get(click, HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302
    assert response["Location"] == "https://huellas.example/resena"
    step.refresh_from_db()
    assert (step.open_count, step.click_count) == (1, 1)


# -- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MACHINE_OPEN_SECONDS", -1),
        ("MACHINE_OPEN_SECONDS", "2"),
        ("MACHINE_OPEN_NETWORKS", ["17.0.0.0/33"]),
        ("MACHINE_OPEN_NETWORKS", "17.0.0.0/8"),
    ],
)
def test_bad_tracking_settings_name_the_setting(name, value):
    with (
        override_settings(PETMAIL={**petmail_settings.user_settings, name: value}),
        pytest.raises(PetmailImproperlyConfigured, match=name),
    ):
        getattr(petmail_settings, name)


def test_html_edge_cases():
    # the first of a repeated attribute wins, as in browsers; a link without href is skipped
    _, links = track_links(
        '<a name="x">x</a><a href="https://a.example" href="javascript:x">a</a>', rewrite=True
    )
    assert [link.url for link in links] == ["https://a.example"]
    assert unsafe_link_error('<a name="x">x</a><a href="https://a.example">a</a>') is None
    # content without </body> (no layout) gets the pixel at its end
    content = compile_content(subject="s", html="<p>x</p>", layout=False)
    assert content.html.source.endswith("{% endif %}")
    assert content.tracks_opens and not content.tracks_clicks


def test_unreadable_client_addresses_are_not_stored():
    assert client_address("not-an-ip") is None
    assert client_address(None) is None
    assert client_address(" 2001:db8::1 ") == "2001:db8::1"
    assert not is_privacy_proxy(None, APPLE_MAIL)
