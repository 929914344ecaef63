"""``build_marketing_message``: unsubscribe headers (RFC 2369/8058), footer, metadata."""

import email
import email.message
import email.policy
import re
import time
from unittest import mock

import django
import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings
from django.utils import translation

from django_petmail.links import unsubscribe_url
from django_petmail.models import SubscriptionStatus, UnsubscribeSource
from django_petmail.sending.messages import build_marketing_message
from tests.factories import SendFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

POSTAL_ADDRESS = "Calle Mayor 1, 28013 Madrid"
MAILTO = "bajas@huellas.example"
HTML = "<html><body><p>Hola Ana</p></body></html>"
TEXT = "Hola Ana"


def build(sub, send_id=None, **kwargs):
    kwargs.setdefault("subject", "Novedades para Luna")
    kwargs.setdefault("html", HTML)
    kwargs.setdefault("text", TEXT)
    return build_marketing_message(sub, send_id=send_id, **kwargs)


def parsed(message):
    """The message as a receiving server sees it."""
    return email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)


def html_of(message):
    return next(body for body, mimetype in message.alternatives if mimetype == "text/html")


def targets(header_value):
    return re.findall(r"<([^>]+)>", header_value)


@pytest.fixture
def sub():
    return SubscriptionFactory()


@pytest.fixture
def frozen_clock():
    """Signed URLs carry a timestamp; freeze it so a URL built here equals the builder's."""
    with mock.patch("django.core.signing.time.time", return_value=time.time()):
        yield


# Headers --------------------------------------------------------------------------------------


def test_exactly_one_list_unsubscribe_header_with_an_https_url(sub):
    send = SendFactory(subscription=sub)
    received = parsed(build(sub, send.pk))

    values = received.get_all("List-Unsubscribe")
    assert len(values) == 1
    urls = targets(str(values[0]))
    assert len(urls) == 1
    assert urls[0].startswith("https://clinic.test/petmail/unsubscribe/")
    assert received.get_all("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]


def test_mailto_follows_the_url_when_configured(sub):
    with override_settings(PETMAIL={**settings.PETMAIL, "UNSUBSCRIBE_MAILTO": MAILTO}):
        received = parsed(build(sub))

    values = received.get_all("List-Unsubscribe")
    assert len(values) == 1
    https, mailto = targets(str(values[0]))
    assert https.startswith("https://")
    assert mailto.startswith(f"mailto:{MAILTO}")
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_header_url_is_a_working_one_click_endpoint(sub):
    send = SendFactory(subscription=sub)
    received = parsed(build(sub, send.pk))
    url = targets(str(received["List-Unsubscribe"]))[0]

    response = Client(enforce_csrf_checks=True).post(
        url.removeprefix("https://clinic.test"),
        received["List-Unsubscribe-Post"],
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.UNSUBSCRIBED
    assert sub.unsubscribe_source == UnsubscribeSource.ONE_CLICK


# Visible link and footer ---------------------------------------------------------------------


def test_visible_unsubscribe_link_in_both_bodies(sub):
    message = build(sub)
    url = targets(message.extra_headers["List-Unsubscribe"])[0]
    assert url in html_of(message)
    assert url in message.body
    assert message.body.startswith(TEXT)
    assert "https://clinic.test/petmail/preferences/" in html_of(message)
    assert "https://clinic.test/petmail/preferences/" in message.body


@pytest.mark.parametrize("closing", ["</body>", "</BODY>"])
def test_html_footer_is_inserted_before_the_closing_body_tag(sub, closing):
    message = build(sub, html=f"<html><body><p>Hola Ana</p>{closing}</html>")
    html = html_of(message)
    url = targets(message.extra_headers["List-Unsubscribe"])[0]
    assert html.startswith("<html><body><p>Hola Ana</p>")
    assert html.endswith(f"{closing}</html>")
    assert html.index(url) < html.index(closing)
    assert html.count(closing) == 1


def test_html_footer_is_appended_when_there_is_no_body_tag(sub):
    message = build(sub, html="<p>Hola Ana</p>")
    html = html_of(message)
    url = targets(message.extra_headers["List-Unsubscribe"])[0]
    assert html.startswith("<p>Hola Ana</p>")
    assert html.index(url) > len("<p>Hola Ana</p>")


def test_footer_is_not_duplicated_when_the_body_already_has_the_link(sub, frozen_clock):
    send = SendFactory(subscription=sub)
    url = unsubscribe_url(sub, send.pk)
    html = f'<html><body><p>Hola</p><a href="{url}">Baja</a></body></html>'
    text = f"Hola\n\nBaja: {url}\n"

    message = build(sub, send.pk, html=html, text=text)

    assert html_of(message) == html
    assert message.body == text
    assert message.extra_headers["List-Unsubscribe"] == f"<{url}>"


def test_footer_is_added_only_to_the_body_that_lacks_the_link(sub, frozen_clock):
    url = unsubscribe_url(sub)
    html = f'<html><body><a href="{url}">Baja</a></body></html>'

    message = build(sub, html=html, text="Hola")

    assert html_of(message) == html
    assert message.body.count(url) == 1


def test_footer_shows_the_postal_address(sub):
    message = build(sub)
    assert POSTAL_ADDRESS in html_of(message)
    assert POSTAL_ADDRESS in message.body


def test_footer_is_in_the_subscribers_language():
    sub = SubscriptionFactory(language="en")
    message = build(sub)
    english = "Unsubscribe"
    with translation.override("es"):
        spanish = translation.gettext(english)
    assert spanish != english, "the es catalog has no translation of the footer"
    assert english in html_of(message)
    assert english in message.body
    assert spanish not in html_of(message)


def test_footer_rendering_leaves_the_active_language_alone(sub):
    with translation.override("en"):
        build(SubscriptionFactory(language="es"))
        assert translation.get_language() == "en"


# Subject and metadata ---------------------------------------------------------------------------


def test_subject_with_line_breaks_is_one_line(sub):
    message = build(sub, subject="Novedades\r\nBcc: evil@example.com\n  para Luna")
    assert message.subject == "Novedades Bcc: evil@example.com para Luna"
    received = parsed(message)
    assert received["Bcc"] is None
    assert received["Subject"] == "Novedades Bcc: evil@example.com para Luna"
    assert message.recipients() == [sub.email]


def test_metadata_carries_send_and_subscription(sub):
    send = SendFactory(subscription=sub)
    message = build(sub, send.pk, metadata={"campaign": "spring"}, tags=["campaign"])
    assert message.metadata == {
        "campaign": "spring",
        "subscription_id": sub.pk,
        "send_id": send.pk,
    }
    assert message.tags == ["campaign"]


def test_metadata_without_a_send(sub):
    assert build(sub).metadata == {"subscription_id": sub.pk}


def test_message_is_addressed_to_the_subscriber_from_the_clinic(sub):
    message = build(sub)
    assert message.to == [sub.email]
    assert message.from_email == settings.PETMAIL["FROM_EMAIL"]
    assert message.cc == [] and message.bcc == []


# Sending ------------------------------------------------------------------------------------------


def test_sends_through_anymail(sub):
    send = SendFactory(subscription=sub)
    message = build(sub, send.pk)

    # Django's test set-up swaps EMAIL_BACKEND for locmem; use anymail's test ESP explicitly.
    with override_settings(EMAIL_BACKEND="anymail.backends.test.EmailBackend"):
        assert message.send() == 1

    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [sub.email]
    assert sent.subject == message.subject
    params = sent.anymail_test_params
    assert params["metadata"] == {"subscription_id": sub.pk, "send_id": send.pk}
    assert params["extra_headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert params["extra_headers"]["List-Unsubscribe"].startswith("<https://")
    assert message.anymail_status.status == {"sent"}


def test_sends_through_the_default_test_outbox(sub):
    message = build(sub)
    assert message.send() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


# --- MIME boundaries set up front -------------------------------------------------------------


def test_multipart_boundary_is_preset_and_the_parts_read_back_intact():
    sub = SubscriptionFactory()
    message = build(sub, html="<p>Hola Ana ñandú</p>", text="Hola Ana ñandú")
    mime = message.message()
    boundary = mime.get_boundary()
    assert boundary.startswith("=_petmail_") and len(boundary) <= 70  # RFC 2046
    received = email.message_from_bytes(mime.as_bytes(), policy=email.policy.default)
    assert received.get_boundary() == boundary
    assert "Hola Ana ñandú" in received.get_body(("plain",)).get_content()
    assert "<p>Hola Ana ñandú</p>" in received.get_body(("html",)).get_content()
    assert build(sub).message().get_boundary() != boundary  # random per message


def test_a_boundary_found_in_a_part_sent_as_is_is_drawn_again(monkeypatch):
    from django_petmail.sending import messages

    taken = "=_petmail_" + "0" * 32
    draws = iter([taken, taken, "=_petmail_" + "1" * 32])
    monkeypatch.setattr(messages, "_new_boundary", lambda: next(draws))
    mime = email.message.EmailMessage()
    mime.set_content(f"a line quoting {taken} in the text", cte="8bit")
    mime.add_alternative("<p>ñandú</p>", subtype="html", cte="8bit")
    messages.preset_boundaries(mime)
    assert mime.get_boundary() == "=_petmail_" + "1" * 32
    received = email.message_from_bytes(mime.as_bytes(), policy=email.policy.default)
    assert received.get_body(("plain",)).get_content().startswith("a line quoting")


def test_quoted_printable_and_base64_parts_cannot_hold_a_boundary(monkeypatch):
    """Their encodings never produce ``=_``, so they need no search (and get none)."""
    from django_petmail.sending import messages

    taken = "=_petmail_" + "0" * 32
    monkeypatch.setattr(messages, "_new_boundary", lambda: taken)
    mime = email.message.EmailMessage()
    mime.set_content(f"quoting {taken}", cte="quoted-printable")
    mime.add_alternative(f"<p>{taken}</p>", subtype="html", cte="base64")
    messages.preset_boundaries(mime)
    assert mime.get_boundary() == taken
    received = email.message_from_bytes(mime.as_bytes(), policy=email.policy.default)
    assert taken in received.get_body(("plain",)).get_content()
    assert taken in received.get_body(("html",)).get_content()


def test_message_arguments_reach_django():
    """Django 6's SMTP backend calls ``message(policy=…)``; the override passes it on (and
    on Django 5.2, which takes no arguments, Django's own error comes through)."""
    message = build(SubscriptionFactory())
    if django.VERSION >= (6,):
        mime = message.message(policy=email.policy.SMTP)
        assert mime.policy == email.policy.SMTP
        assert mime.get_boundary().startswith("=_petmail_")
    else:
        with pytest.raises(TypeError, match="policy"):
            message.message(policy=email.policy.SMTP)


def test_nested_multiparts_each_get_a_boundary_and_attachments_survive():
    message = build(SubscriptionFactory())
    message.attach("consejos.txt", "Consejos de otoño\n", "text/plain")
    message.attach("carta.pdf", b"%PDF-1.4 fake", "application/pdf")
    inner = email.message_from_string("Subject: reenviado\n\nhola\n")
    message.attach("reenviado.eml", inner, "message/rfc822")
    mime = message.message()
    multiparts = [p for p in mime.walk() if p.get_content_maintype() == "multipart"]
    boundaries = [p.get_boundary() for p in multiparts]
    assert len(multiparts) == 2 and len(set(boundaries)) == 2
    assert all(b.startswith("=_petmail_") for b in boundaries)
    rfc822 = [p for p in mime.walk() if p.get_content_type() == "message/rfc822"]
    assert rfc822 and rfc822[0].get_boundary() is None  # not a multipart: left alone
    received = parsed(message)
    files = {part.get_filename(): part.get_content() for part in received.iter_attachments()}
    assert files["consejos.txt"] == "Consejos de otoño\n"
    assert files["carta.pdf"] == b"%PDF-1.4 fake"
    assert received.get_body(("html",)) is not None
