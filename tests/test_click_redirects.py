"""Click redirects: to the exact link the message had, recorded as a click (and an open);
anything else — a tampered token, an unknown send, a position the content does not have, a
target the content never had — is a 404 without ``Location``."""

import pytest
from django.test import override_settings
from django.utils import timezone

import django_petmail
from django_petmail.conf import petmail_settings
from django_petmail.gdpr import erase_subscriber
from django_petmail.models import (
    AutomatedSequence,
    EmailCampaign,
    EmailEvent,
    EmailSend,
    EventType,
    SendStatus,
    SequenceStep,
)
from django_petmail.sequences.progression import process
from django_petmail.tokens import make_click_tokens
from tests.factories import SubscriptionFactory
from tests.tracking_utils import BROWSER, age, click_paths, pixel_path, send_campaign

pytestmark = pytest.mark.django_db

TARGET = "https://huellas.example/otono?utm_source=petmail&a=1&b=%C3%B1#vacunas"
HTML = (
    f'<p><a href="{TARGET.replace("&", "&amp;")}" data-tag="otoño">Leer más</a></p>'
    '<p><a href="https://huellas.example/tienda" title="Tienda online">Tienda</a></p>'
    '<p><a href="https://huellas.example/citas">Pide cita</a></p>'
)


@pytest.fixture
def sent():
    SubscriptionFactory()
    campaign, [send] = send_campaign(HTML)
    return campaign, send


def get(client, path, **extra):
    return client.get(path, HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="198.51.100.4", **extra)


def assert_not_found(response):
    assert response.status_code == 404
    assert "Location" not in response


def test_a_click_redirects_to_the_exact_link_and_is_recorded(client, sent):
    campaign, send = sent
    paths = click_paths(send)
    assert len(paths) == 3

    response = get(client, paths[0])

    assert response.status_code == 302
    assert response["Location"] == TARGET
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    [event] = EmailEvent.objects.filter(send=send)
    assert event.event_type == EventType.CLICK and event.esp_event_id is None
    assert (event.link_url, event.link_tag) == (TARGET, "otoño")
    assert (event.ip_address, event.user_agent) == ("198.51.100.4", BROWSER)
    assert not event.is_machine
    send.refresh_from_db()
    assert send.status == SendStatus.CLICKED
    assert send.opened_at is not None and send.clicked_at is not None  # a click is an open
    campaign = EmailCampaign.objects.get(pk=campaign.pk)
    assert (campaign.open_count, campaign.click_count) == (1, 1)


def test_each_link_goes_to_its_own_target_and_clicks_count_once(client, sent):
    campaign, send = sent
    paths = click_paths(send)
    assert get(client, paths[1])["Location"] == "https://huellas.example/tienda"
    assert get(client, paths[2])["Location"] == "https://huellas.example/citas"
    assert get(client, paths[1]).status_code == 302
    tags = list(EmailEvent.objects.order_by("pk").values_list("link_tag", flat=True))
    assert tags == ["Tienda online", "2", "Tienda online"]
    campaign = EmailCampaign.objects.get(pk=campaign.pk)
    assert (campaign.open_count, campaign.click_count) == (1, 1)


def test_a_tampered_token_is_a_404(client, sent):
    _, send = sent
    path = click_paths(send)[0]
    token = path.split("/")[-2]
    send_id, index, signature = token.split(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    for bad in (
        f"{send_id}.{index}.{flipped}",
        f"{send_id}.1.{signature}",  # another position, same signature
        f"{int(send_id) + 1}.{index}.{signature}",  # another send
        f"{send_id}.{index}",
        f"{send_id}.{index}.{signature}.x",
        f"0{send_id}.{index}.{signature}",
        f"{send_id}.-1.{signature}",
        f"{send_id}.{index}.{'A' * 200}",
        "abc",
        "١.٢.x",  # non-ASCII digits
        "9" * 25 + ".0.x",
    ):
        assert_not_found(get(client, f"/petmail/c/{bad}/"))
    assert not EmailEvent.objects.exists()


def test_an_unknown_send_is_a_404(client, sent):
    _, send = sent
    [token] = make_click_tokens(send.pk + 1000, [TARGET])
    assert_not_found(get(client, f"/petmail/c/{token}/"))
    path = click_paths(send)[0]
    EmailSend.objects.filter(pk=send.pk).delete()
    assert_not_found(get(client, path))


def test_a_position_the_content_does_not_have_is_a_404(client, sent):
    _, send = sent
    token = make_click_tokens(send.pk, ["a", "b", "c", "d", "https://huellas.example/x"])[4]
    assert_not_found(get(client, f"/petmail/c/{token}/"))
    assert not EmailEvent.objects.exists()


def test_no_open_redirect_even_with_a_validly_signed_foreign_target(client, sent):
    _, send = sent
    [token] = make_click_tokens(send.pk, ["https://evil.example/"])
    assert_not_found(get(client, f"/petmail/c/{token}/"))
    assert not EmailEvent.objects.exists()


def test_a_click_still_works_after_tracking_is_switched_off(client, sent):
    _, send = sent
    path = click_paths(send)[1]
    with override_settings(
        PETMAIL={**petmail_settings.user_settings, "TRACK_CLICKS": False, "TRACK_OPENS": False}
    ):
        assert get(client, path)["Location"] == "https://huellas.example/tienda"


def test_a_head_request_is_redirected_but_is_a_machine_click(client, sent):
    campaign, send = sent
    response = client.head(click_paths(send)[0], HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert EmailEvent.objects.get(send=send).is_machine
    campaign = EmailCampaign.objects.get(pk=campaign.pk)
    assert (campaign.open_count, campaign.click_count) == (0, 0)
    assert client.post(click_paths(send)[0]).status_code == 405


def test_edited_step_content_keeps_old_clicks_on_their_links(client):
    """A sequence step can be edited while its sequence runs: a link already sent keeps
    leading where it led, wherever it moved; a link since removed is a 404."""
    sequence = AutomatedSequence.objects.create(name="gracias", trigger_type="purchase")
    step = SequenceStep.objects.create(
        sequence=sequence,
        step_number=1,
        subject="Gracias",
        html_content=(
            '<a href="https://huellas.example/resena">Opina</a>'
            '<a href="https://huellas.example/tienda">Tienda</a>'
        ),
    )
    django_petmail.trigger("purchase", SubscriptionFactory(), amount=10)
    process(now=timezone.now())
    send = EmailSend.objects.get(sequence_step=step)
    age(send)
    review, shop = click_paths(send)

    step.html_content = (
        '<a href="https://huellas.example/nuevo">Nuevo</a>'
        '<a href="https://huellas.example/tienda">Tienda</a>'
        '<a href="https://huellas.example/resena">Opina</a>'
    )
    step.save()
    assert get(client, shop)["Location"] == "https://huellas.example/tienda"
    assert get(client, review)["Location"] == "https://huellas.example/resena"

    step.html_content = '<a href="https://huellas.example/nuevo">Nuevo</a>'
    step.save()
    assert_not_found(get(client, shop))


def test_a_send_without_a_mailing_is_a_404(client, sent):
    _, send = sent
    path = click_paths(send)[0]
    EmailSend.objects.filter(pk=send.pk).update(campaign=None)
    assert_not_found(get(client, path))


def test_content_that_no_longer_compiles_is_a_404(client):
    sequence = AutomatedSequence.objects.create(name="gracias", trigger_type="purchase")
    step = SequenceStep.objects.create(
        sequence=sequence,
        step_number=1,
        subject="Gracias",
        html_content='<a href="https://huellas.example/resena">Opina</a>',
    )
    django_petmail.trigger("purchase", SubscriptionFactory(), amount=10)
    process(now=timezone.now())
    send = EmailSend.objects.get(sequence_step=step)
    [path] = click_paths(send)
    SequenceStep.objects.filter(pk=step.pk).update(html_content="{% include 'x' %}")
    assert_not_found(get(client, path))


def test_an_erased_subscribers_links_work_but_record_nothing(client, sent):
    _, send = sent
    path = click_paths(send)[1]
    pixel = pixel_path(send)
    erase_subscriber(send.subscription)
    assert get(client, path)["Location"] == "https://huellas.example/tienda"
    assert get(client, pixel).status_code == 200
    assert not EmailEvent.objects.exists()
