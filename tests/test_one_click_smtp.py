"""End to end over real SMTP and real HTTP: a marketing email received by an SMTP server
carries a List-Unsubscribe URL that, POSTed with the RFC 8058 body by a cookie-less client,
unsubscribes the recipient."""

import re
import urllib.request

import pytest
from django.test import override_settings

from clinic.smtp_sink import SMTPSink
from django_petmail.models import NewsletterSubscription
from django_petmail.sending.messages import build_marketing_message
from tests.factories import SubscriptionFactory


@pytest.mark.django_db(transaction=True)
def test_one_click_from_a_message_received_over_smtp(live_server, settings):
    sub = SubscriptionFactory(email="lola@example.com", first_name="Lola")
    petmail = {
        **settings.PETMAIL,
        "SITE_URL": live_server.url,
        "UNSUBSCRIBE_MAILTO": "bajas@huellas.example",
    }
    with SMTPSink() as sink, override_settings(PETMAIL=petmail, **sink.django_settings()):
        message = build_marketing_message(
            sub, subject="Novedades de otoño", html="<p>Hola Lola</p>", text="Hola Lola"
        )
        assert message.send() == 1
        [received] = sink.messages

    assert received["To"] == "lola@example.com"
    assert len(received.get_all("List-Unsubscribe")) == 1
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    targets = re.findall(r"<([^>]+)>", received["List-Unsubscribe"])
    assert targets[1].startswith("mailto:bajas@huellas.example")
    url = targets[0]
    assert url.startswith(live_server.url + "/petmail/unsubscribe/")
    html = received.get_body(("html",)).get_content()
    assert url in html  # the visible link in the body is the same URL

    request = urllib.request.Request(
        url,
        data=b"List-Unsubscribe=One-Click",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.geturl() == url  # answered directly, no redirect

    sub = NewsletterSubscription.objects.get(pk=sub.pk)
    assert sub.status == "unsubscribed"
    assert sub.unsubscribe_source == "one_click"
