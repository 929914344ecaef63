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


def segment_step(command: Any, options: dict[str, Any]) -> list[str]:
    """A clinic segment: dog owners seen in the last year with a completed order."""
    from django_petmail.models import CustomerSegment
    from django_petmail.segments.service import preview, refresh_count

    rules = {
        "operator": "AND",
        "conditions": [
            {"field": "pets__species", "op": "eq", "value": "dog"},
            {"field": "last_visit_date", "op": "gte", "value": "-1y"},
            {"field": "orders_count", "op": "gte", "value": 1},
        ],
    }
    segment, _ = CustomerSegment.objects.update_or_create(
        slug="perros-activos",
        defaults={"name": "Perros con visita en el último año", "rules": rules},
    )
    count = refresh_count(segment)
    sample = preview(rules, 3).sample
    return [
        "Segment 'perros-activos' (dog, last visit ≥ -1y, orders ≥ 1)",
        f"  members        {count:>8}  e.g. " + ", ".join(row["email"] for row in sample),
    ]


def ab_campaign_step(command: Any, options: dict[str, Any]) -> list[str]:
    """An A/B subject test to the segment, over real SMTP, with an automatic winner.

    No real inbox reads the demo's mail, so the opens are simulated: for about 60 % of A's
    and 20 % of B's test recipients (chosen deterministically) the demo posts the SNS
    notification Amazon SES would send for an open to the real tracking webhook
    (``/anymail/amazon_ses/tracking/``, through anymail and the package's receiver).
    """
    from django.db.models import F
    from django.test import override_settings

    from django_petmail import campaigns
    from django_petmail.models import CustomerSegment, EmailCampaign, EmailSend
    from django_petmail.tasks import pick_ab_winners

    from .smtp_sink import SMTPSink

    segment = CustomerSegment.objects.get(slug="perros-activos")
    campaign = EmailCampaign.objects.create(
        name="Otoño: paseos seguros",
        segment=segment,
        topic="pet_tips",
        subject="{{ first_name }}, consejos de otoño para {{ pet_name }}",
        is_ab_test=True,
        ab_subject_b="🍂 ¿Listo para los paseos de otoño, {{ first_name }}?",
        ab_test_percent=20,
        ab_wait_hours=0,
        html_content=(
            "<h1>Hola {{ first_name }}</h1>"
            "<p>Con el otoño llegan las hojas, las castañas… y algún susto. "
            "Cuida de {{ pet_names }} con estos consejos.</p>"
            '<p><a href="https://huellas.example/otono">Leer los consejos</a></p>'
        ),
    )
    lines = ["A/B campaign (SMTP sink)"]
    with SMTPSink() as sink, override_settings(**sink.django_settings()):
        recipients = campaigns.start(campaign)
        cohort = EmailSend.objects.filter(campaign=campaign, ab_variant__in=["A", "B"])
        a = cohort.filter(ab_variant="A").count()
        b = cohort.filter(ab_variant="B").count()
        lines.append(
            f"  recipients     {recipients:>8}  test cohort A={a} B={b}, "
            f"rest held={recipients - a - b}"
        )
        posted = 0
        for variant, share in (("A", 60), ("B", 20)):
            opened = (
                cohort.filter(ab_variant=variant, status="sent")
                .annotate(bucket=F("pk") % 100)
                .filter(bucket__lt=share)
            )
            for send in opened:
                posted += _post_ses_open(send)
        lines.append(
            f"  opens          {posted:>8}  SES open notifications posted to the tracking "
            f"webhook: A={cohort.filter(ab_variant='A', opened_at__isnull=False).count()} "
            f"B={cohort.filter(ab_variant='B', opened_at__isnull=False).count()}"
        )
        pick_ab_winners()
        campaign.refresh_from_db()
        result = campaign.ab_result
        lines.append(
            f"  winner         {campaign.ab_winner:>8}  p={result.get('p_value')} "
            f"significant={result.get('significant')}"
        )
        lines.append(
            f"  status         {campaign.status:>8}  sent={campaign.sent_count} "
            f"failed={campaign.failed_count} bounced={campaign.bounce_count}"
        )
        lines.append(
            f"  SMTP sink received {len(sink.messages)} messages; subject of the "
            f"last: {sink.messages[-1]['Subject']!r}"
            if sink.messages
            else "  SMTP sink received nothing"
        )
    return lines


def _post_ses_open(send: Any) -> int:
    """POST the SNS notification SES sends when ``send``'s message is opened; 1 if accepted."""
    return _post_ses_event(send, "Open")


def _post_ses_event(send: Any, kind: str, link: str = "https://huellas.example/") -> int:
    """POST the SNS notification SES sends for an ``Open`` or ``Click`` of ``send``'s message
    to the real tracking webhook; 1 if accepted."""
    import base64
    import json

    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from django_petmail.tracking.testing import sns_test_signer

    sns_id = f"demo-{kind.lower()}-{send.pk}"
    detail: dict[str, Any] = {"userAgent": "Mozilla/5.0 (demo)"}
    if kind == "Click":
        detail["link"] = link
    event = {
        "eventType": kind,
        "mail": {
            "messageId": send.esp_message_id,
            "destination": [send.email_address],
            "headers": [
                {"name": "X-Metadata", "value": json.dumps({"send_id": send.pk})},
            ],
        },
        kind.lower(): detail,
    }
    # signed as SNS would, with the package's throwaway test certificate (no network)
    body = sns_test_signer().sign(
        {
            "Type": "Notification",
            "MessageId": sns_id,
            "TopicArn": "arn:aws:sns:eu-west-1:000000000000:petmail-tracking",
            "Message": json.dumps(event),
            "Timestamp": timezone.now().isoformat(),
        }
    )
    secret = settings.ANYMAIL["WEBHOOK_SECRET"].encode()
    response = Client().post(
        "/anymail/amazon_ses/tracking/",
        json.dumps(body),
        content_type="text/plain",
        headers={
            "authorization": "Basic " + base64.b64encode(secret).decode(),
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": sns_id,
        },
    )
    return int(response.status_code == 200)


WELCOME = "Bienvenida (demo)"
VACCINATION = "Recordatorio de vacunas (demo)"


def _demo_sequences() -> tuple[Any, Any]:
    """The welcome series (marketing, on ``signup``, goal ``purchase``) and the vaccination
    reminder (service mail, on ``vaccination_due`` 14 days ahead, skipped by owners who
    already have an appointment). Made again on every run of the demo."""
    from datetime import time

    from django_petmail.models import AutomatedSequence, SequenceStep

    AutomatedSequence.objects.filter(name__in=[WELCOME, VACCINATION]).delete()
    welcome = AutomatedSequence(
        name=WELCOME,
        trigger_type="signup",
        goal_trigger="purchase",
        description="Three emails over five days; a purchase ends it (converted).",
    )
    welcome.full_clean()
    welcome.save()
    steps = [
        (1, 0, None, "¡Bienvenido a Huellas, {{ first_name }}!", "Gracias por suscribirte."),
        (2, 2, None, "{{ first_name }}, conoce a nuestro equipo", "Te presentamos al equipo."),
        (3, 3, time(9, 0), "Un 10 % en tu primera compra", "Usa el código HUELLAS10."),
    ]
    for number, days, at, subject, body in steps:
        step = SequenceStep(
            sequence=welcome,
            step_number=number,
            delay_days=days,
            send_time=at,
            subject=subject,
            html_content=(
                f"<p>Hola {{{{ first_name }}}}. {body}</p>"
                '<p><a href="https://huellas.example/tienda">Visita la tienda</a></p>'
            ),
        )
        step.full_clean()
        step.save()
    vaccination = AutomatedSequence(
        name=VACCINATION,
        trigger_type="vaccination_due",
        trigger_conditions={"days_before": 14},
        is_marketing=False,
        description="Service mail: sent even to owners who left the newsletter.",
    )
    vaccination.full_clean()
    vaccination.save()
    for number, days, at, subject in [
        (1, 0, time(10, 0), "{{ first_name }}, a {{ pet_name }} le toca vacunarse"),
        (2, 5, time(10, 0), "Recordatorio: la vacuna de {{ pet_name }}"),
    ]:
        step = SequenceStep(
            sequence=vaccination,
            step_number=number,
            delay_days=days,
            send_time=at,
            subject=subject,
            html_content=(
                '<p>Pide cita en <a href="https://huellas.example/citas">'
                "huellas.example/citas</a>.</p>"
            ),
            skip_if={"has_appointment": True},
        )
        step.full_clean()
        step.save()
    return welcome, vaccination


def sequences_step(command: Any, options: dict[str, Any]) -> list[str]:
    """Automated sequences over a simulated week, over real SMTP.

    The clinic's pending subscribers confirm (the real ``confirm()``, whose ``signup``
    trigger enrolls them in the welcome series); ``process_automated_sequences``' work
    (:func:`~django_petmail.sequences.progression.process`) runs every 6 simulated hours for
    7 days, enrolling owners with a vaccination due in 14 days and sending due steps through
    the in-process workers; on day 1 a third of the welcomed owners complete an order (the
    clinic's ``post_save`` fires ``purchase``, the welcome series' goal: converted). Finally
    the demo posts SES open and click notifications for some step sends to the real
    tracking webhook, and reports each step's counters.
    """
    from datetime import timedelta
    from decimal import Decimal

    from django.test import override_settings
    from django.utils import timezone

    from django_petmail.models import EmailSend, SequenceEnrollment, SubscriptionStatus
    from django_petmail.sequences.progression import process
    from django_petmail.subscriptions import confirm

    from .models import OrderStatus
    from .smtp_sink import SMTPSink

    welcome, vaccination = _demo_sequences()
    start = timezone.now()
    lines = ["Automated sequences (SMTP sink, 7 simulated days)"]
    with SMTPSink() as sink, override_settings(**sink.django_settings()):
        pending = list(NewsletterSubscription.objects.filter(status=SubscriptionStatus.PENDING))
        for subscription in pending:
            confirm(subscription)
        enrolled = SequenceEnrollment.objects.filter(sequence=welcome)
        lines.append(
            f"  confirmed      {len(pending):>8}  pending subscribers → welcome series "
            f"enrollments: {enrolled.count()}"
        )
        buyers = 0
        runs = 0
        for hours in range(0, 7 * 24 + 1, 6):
            now = start + timedelta(hours=hours)
            process(now=now)
            runs += 1
            if hours == 30:  # day 1: a third of the welcomed owners buy something
                for enrollment in enrolled.filter(owner__isnull=False).select_related("owner"):
                    if enrollment.pk % 3:
                        continue
                    order = Order.objects.create(
                        owner=enrollment.owner, status=OrderStatus.PENDING, total=Decimal("35.90")
                    )
                    order.status = OrderStatus.COMPLETED
                    order.save()  # the clinic's receiver fires "purchase"
                    buyers += 1
        lines.append(
            f"  process runs   {runs:>8}  (every 6 simulated hours); orders completed on "
            f"day 1: {buyers}"
        )
        posted = 0
        sent = list(
            EmailSend.objects.filter(
                sequence_step__sequence__in=[welcome, vaccination], status="sent"
            ).order_by("pk")
        )
        for send in sent:
            if send.pk % 100 < 45:  # ~45 % open…
                posted += _post_ses_event(send, "Open")
            if send.pk % 100 < 15:  # …and a third of those click
                posted += _post_ses_event(send, "Click", "https://huellas.example/tienda")
        lines.append(f"  SES events     {posted:>8}  opens and clicks posted to the webhook")
        lines.extend(_sequence_report(welcome, vaccination))
        lines.append(f"  SMTP sink received {len(sink.messages)} messages")
    return lines


def _sequence_report(*sequences: Any) -> list[str]:
    from django_petmail.models import EmailSend, SequenceEnrollment, SequenceStep

    lines = []
    for sequence in sequences:
        by_status = dict(
            SequenceEnrollment.objects.filter(sequence=sequence)
            .values_list("status")
            .annotate(n=Count("pk"))
        )
        kind = "marketing" if sequence.is_marketing else "service"
        lines.append(
            f"  {sequence.name} ({kind}, trigger {sequence.trigger_name}): enrolled "
            f"{sum(by_status.values())}, "
            + ", ".join(f"{k}={v}" for k, v in sorted(by_status.items()))
        )
        lines.append(
            f"    {'step':<6}{'sent':>7}{'skipped':>9}{'opened':>8}{'clicked':>9}{'goal':>6}"
            f"{'orders':>8}{'revenue':>10}"
        )
        skipped = dict(
            EmailSend.objects.filter(sequence_step__sequence=sequence, status="skipped")
            .values_list("sequence_step")
            .annotate(n=Count("pk"))
        )
        for step in SequenceStep.objects.filter(sequence=sequence).order_by("step_number"):
            lines.append(
                f"    #{step.step_number:<5}{step.sent_count:>7}{skipped.get(step.pk, 0):>9}"
                f"{step.open_count:>8}{step.click_count:>9}{step.goal_count:>6}"
                f"{step.conversion_count:>8}{step.revenue_attributed:>10}"
            )
    return lines


STEPS: list[Step] = [
    seed_step,
    subscription_round_trip_step,
    segment_step,
    ab_campaign_step,
    sequences_step,
]
