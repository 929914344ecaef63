"""A person's path in headless Chromium: subscribe → confirmation email → confirm →
preferences → unsubscribe, checking each page."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import override_settings

from django_petmail.models import NewsletterSubscription
from tests.browser import chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page():
    with chromium_page(locale="es-ES") as page:
        yield page


def test_subscriber_journey(live_server, browser_page, settings):
    cache.clear()
    page = browser_page
    petmail = {**settings.PETMAIL, "SITE_URL": live_server.url}
    with override_settings(PETMAIL=petmail):
        page.goto(f"{live_server.url}/petmail/subscribe/")
        assert page.locator("h1").inner_text() == "Suscríbete a nuestras noticias"
        page.get_by_label("Correo electrónico").fill("Nala@Example.com")
        page.get_by_label("Nombre").fill("Nala")
        page.get_by_label("Frecuencia").select_option("monthly")
        page.get_by_label("Consejos para tu mascota").check()
        page.get_by_label("Acepto recibir emails").check()
        page.get_by_role("button", name="Suscribirme").click()
        assert page.locator("h1").inner_text() == "Revisa tu correo"

        sub = NewsletterSubscription.objects.get()
        assert (sub.email, sub.status, sub.frequency) == ("nala@example.com", "pending", "monthly")
        [confirmation] = mail.outbox
        assert confirmation.to == ["nala@example.com"]
        link = re.search(r"(https?://\S+/petmail/confirm/\S+/)", confirmation.body).group(1)

        page.goto(link)
        assert page.locator("h1").inner_text() == "Confirma tu suscripción"
        sub.refresh_from_db()
        assert sub.status == "pending"  # opening the link alone changes nothing
        page.get_by_role("button", name="Confirmar suscripción").click()
        assert page.locator("h1").inner_text() == "Suscripción confirmada"
        sub.refresh_from_db()
        assert sub.status == "active"

        page.get_by_role("link", name=re.compile("Elige qué quieres recibir")).click()
        assert page.locator("h1").inner_text() == "Preferencias de email"
        page.get_by_label("Frecuencia").select_option("important_only")
        page.get_by_label("Idioma").select_option("en")
        page.get_by_role("button", name="Guardar preferencias").click()
        # the page now speaks the subscriber's new language
        assert page.get_by_role("status").inner_text() == "Preferences saved."
        sub.refresh_from_db()
        assert (sub.frequency, sub.language) == ("important_only", "en")

        page.get_by_role("link", name="Unsubscribe from all emails").click()
        assert page.locator("h1").inner_text() == "Unsubscribe"
        page.get_by_label("Why are you leaving?").fill("Too many emails")
        page.get_by_role("button", name="Unsubscribe me").click()
        assert page.locator("h1").inner_text() == "Unsubscribe confirmed"
        sub.refresh_from_db()
        assert (sub.status, sub.unsubscribe_source, sub.unsubscribe_reason) == (
            "unsubscribed",
            "page",
            "Too many emails",
        )
        events = list(sub.consent_events.order_by("pk").values_list("event", flat=True))
        assert events == ["subscribed", "confirmed", "preferences_changed", "unsubscribed"]
