"""The steps of ``manage.py demo``: each prints its part of the report.

A capability joins the demo by adding a function to ``STEPS``; each receives the command (for
``stdout``/``style``) and the parsed options, and returns report lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Count

from django_petmail.conf import get_owner_model
from django_petmail.models import ConsentEvent, NewsletterSubscription

from .models import Appointment, Cart, Order, Pet, Vaccination
from .seeding import seed_clinic

Step = Callable[[Any, dict[str, Any]], list[str]]


def seed_step(command: Any, options: dict[str, Any]) -> list[str]:
    from tqdm import tqdm

    owners = options["owners"]
    with tqdm(
        total=owners,
        unit="owners",
        desc="Seeding clinic",
        file=command.stderr,
        disable=options["verbosity"] == 0,
    ) as bar:
        seed_clinic(owners, seed=options["seed"], progress=bar.update)
    by_status = dict(NewsletterSubscription.objects.values_list("status").annotate(n=Count("pk")))
    return [
        "Clinic",
        f"  owners         {get_owner_model()._default_manager.count():>8}",
        f"  pets           {Pet.objects.count():>8}",
        f"  appointments   {Appointment.objects.count():>8}",
        f"  orders         {Order.objects.count():>8}",
        f"  vaccinations   {Vaccination.objects.count():>8}",
        f"  carts          {Cart.objects.count():>8}",
        "Newsletter",
        f"  subscriptions  {NewsletterSubscription.objects.count():>8}  "
        + ", ".join(f"{k}={v}" for k, v in sorted(by_status.items())),
        f"  consent events {ConsentEvent.objects.count():>8}",
    ]


def subscription_round_trip_step(command: Any, options: dict[str, Any]) -> list[str]:
    """Subscribe → confirm → marketing email → one-click unsubscribe, over real SMTP.

    The clinic's pages are driven with Django's test client (no server needed); every email
    goes through Django's SMTP backend to a local SMTP sink and is read back from there.
    """
    import re

    from django.core.cache import cache
    from django.test import Client, override_settings

    from django_petmail.models import NewsletterSubscription
    from django_petmail.sending.messages import build_marketing_message

    from .smtp_sink import SMTPSink

    cache.clear()  # rate-limit counters of earlier runs
    address = "demo.subscriber@huellas.example"
    NewsletterSubscription.objects.filter(email=address).delete()
    client = Client()  # no cookies kept between steps that matter: links carry the tokens
    lines = ["Subscription round trip (SMTP sink)"]
    with SMTPSink() as sink, override_settings(**sink.django_settings()):
        response = client.post(
            "/petmail/subscribe/",
            {
                "email": "Demo.Subscriber@Huellas.example",
                "first_name": "Demo",
                "frequency": "weekly",
                "topics": ["pet_tips", "news"],
                "language": "es",
                "consent": "on",
            },
        )
        sub = NewsletterSubscription.objects.get(email=address)
        lines.append(f"  subscribe      HTTP {response.status_code}  status={sub.status}")
        confirmation = sink.messages[-1]
        link = re.search(
            r"https?://\S+?(/petmail/confirm/\S+/)", confirmation.get_body(("plain",)).get_content()
        )
        assert link, "the confirmation email carries a confirm link"
        response = client.post(link.group(1))
        sub.refresh_from_db()
        lines.append(
            f"  confirm        HTTP {response.status_code}  status={sub.status}  "
            f"(email: {confirmation['Subject']!r})"
        )
        build_marketing_message(
            sub,
            subject=f"Consejos de otoño para {sub.first_name}",
            html="<p>Hola Demo, ¡llega el otoño!</p>",
            text="Hola Demo, ¡llega el otoño!",
        ).send()
        received = sink.messages[-1]
        url = re.search(r"<(https?://[^>]+)>", received["List-Unsubscribe"]).group(1)
        path = url.split("://", 1)[1].split("/", 1)[1]
        response = Client().post(
            "/" + path,
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        sub.refresh_from_db()
        lines.append(
            f"  one-click      HTTP {response.status_code}  status={sub.status}  "
            f"(List-Unsubscribe-Post: {received['List-Unsubscribe-Post']})"
        )
        ledger = ", ".join(sub.consent_events.order_by("pk").values_list("event", flat=True))
        lines.append(f"  consent ledger {ledger}")
        lines.append(f"  messages received by the SMTP sink: {len(sink.messages)}")
    return lines


STEPS: list[Step] = [seed_step, subscription_round_trip_step]
