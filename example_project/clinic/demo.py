"""The steps of ``manage.py demo``: each prints its part of the report.

A capability joins the demo by adding a function to ``STEPS``; each receives the command (for
``stdout``/``style``) and the parsed options, and returns report lines.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.test import Client
from django.utils import timezone

from django_petmail import analytics
from django_petmail.conf import get_owner_model, petmail_settings
from django_petmail.models import ConsentEvent, EmailCampaign, EmailSend, NewsletterSubscription
from django_petmail.tracking.testing import sns_test_signer

from .models import Appointment, Cart, Order, OrderStatus, Pet, Vaccination
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
    from django.test import override_settings

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


AB_CAMPAIGN = "Otoño: paseos seguros"


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
    from django_petmail.models import CustomerSegment
    from django_petmail.tasks import pick_ab_winners

    from .smtp_sink import SMTPSink

    segment = CustomerSegment.objects.get(slug="perros-activos")
    campaign = EmailCampaign.objects.create(
        name=AB_CAMPAIGN,
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
            '<p><a href="https://huellas.example/citas">Pide cita para la revisión</a></p>'
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


#: The SNS topic the demo's SES notifications come from.
DEMO_TOPIC = "arn:aws:sns:eu-west-1:000000000000:petmail-tracking"


def _post_ses_event(send: Any, kind: str, link: str = "https://huellas.example/") -> int:
    """POST the SNS notification SES publishes for a ``Delivery``, ``Open``, ``Click``,
    (permanent) ``Bounce`` or ``Complaint`` of ``send``'s message to the real tracking
    webhook, signed as SNS signs it; 1 if accepted.

    The event is dated now, as SES dates it, and travels in a new SNS message (a new
    ``MessageId``), as SNS publishes it."""
    address = send.email_address
    now = timezone.now().isoformat().replace("+00:00", "Z")
    details: dict[str, dict[str, Any]] = {
        "Delivery": {"recipients": [address], "smtpResponse": "250 2.0.0 OK"},
        "Open": {"ipAddress": "192.0.2.10", "userAgent": "Mozilla/5.0 (demo)"},
        "Click": {"ipAddress": "192.0.2.10", "userAgent": "Mozilla/5.0 (demo)", "link": link},
        "Bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "feedbackId": f"demo-bounce-{send.pk}",
            "bouncedRecipients": [
                {"emailAddress": address, "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
            ],
        },
        "Complaint": {
            "complaintFeedbackType": "abuse",
            "feedbackId": f"demo-complaint-{send.pk}",
            "complainedRecipients": [{"emailAddress": address}],
        },
    }
    event = {
        "eventType": kind,
        "mail": {
            "timestamp": send.sent_at.isoformat() if send.sent_at else now,
            "messageId": send.esp_message_id,
            "destination": [address],
            "headers": [
                {"name": "X-Metadata", "value": json.dumps({"send_id": send.pk})},
            ],
        },
        kind.lower(): {**details[kind], "timestamp": now},
    }
    # signed as SNS would, with the package's throwaway test certificate (no network)
    sns_id = str(uuid.uuid4())
    body = sns_test_signer().sign(
        {
            "Type": "Notification",
            "MessageId": sns_id,
            "TopicArn": DEMO_TOPIC,
            "Message": json.dumps(event),
            "Timestamp": now,
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


def campaign_report_step(command: Any, options: dict[str, Any]) -> list[str]:
    """The A/B campaign's tracking, two orders as its conversions, and its report.

    Through the real SES webhook (signed SNS notifications): a delivery for every message
    but one, which bounces (permanent); opens for about 40 % of them and clicks for about
    15 %, on the campaign's two links; one complaint. Then two owners who clicked complete
    an order: the clinic's ``Order`` save records each with ``record_conversion``, which
    credits the campaign (their last click). The report is
    :func:`django_petmail.analytics.campaign_report`, the one the admin page draws.
    """
    campaign = EmailCampaign.objects.filter(name=AB_CAMPAIGN).order_by("-pk").first()
    sends = (
        list(
            EmailSend.objects.filter(campaign=campaign, sent_at__isnull=False)
            .select_related("subscription__owner")
            .order_by("pk")
        )
        if campaign
        else []
    )
    if len(sends) < 4:
        return ["Campaign report", "  (too few messages sent to report on; try more --owners)"]
    lines = [f"Campaign report: {campaign.name} (SES events through the webhook)"]
    bounced = next((s for s in sends if s.opened_at is None), sends[0])
    delivered = [s for s in sends if s is not bounced]
    complainer = delivered[-1]
    clickers = [s for s in delivered[:-1] if s.pk % 100 < 15] or delivered[:2]
    links = ("https://huellas.example/otono", "https://huellas.example/citas")
    posted = {"Delivery": 0, "Open": 0, "Click": 0, "Bounce": 0, "Complaint": 0}
    for send in delivered:
        posted["Delivery"] += _post_ses_event(send, "Delivery")
        if send.pk % 100 < 40 and send.opened_at is None:
            posted["Open"] += _post_ses_event(send, "Open")
    for send in clickers:
        posted["Click"] += _post_ses_event(send, "Click", links[send.pk % 2])
    posted["Bounce"] += _post_ses_event(bounced, "Bounce")
    posted["Complaint"] += _post_ses_event(complainer, "Complaint")
    lines.append(
        f"  SES events     {sum(posted.values()):>8}  "
        + ", ".join(f"{kind.lower()}={n}" for kind, n in posted.items())
    )
    buyers = [s.subscription.owner for s in clickers if s.subscription and s.subscription.owner]
    for owner, total in zip(buyers, (Decimal("42.50"), Decimal("18.90")), strict=False):
        order = Order.objects.create(owner=owner, status=OrderStatus.PENDING, total=total)
        order.status = OrderStatus.COMPLETED
        order.save()  # the clinic's receiver records the conversion
    lines.append(
        f"  orders         {min(len(buyers), 2):>8}  completed by owners who clicked "
        "(record_conversion, last click)"
    )
    campaign.refresh_from_db()
    lines.extend(_report_lines(analytics.campaign_report(campaign), campaign.ab_result or {}))
    lines.append(
        f"  report page    /admin/django_petmail/emailcampaign/{campaign.pk}/report/ "
        "(manage.py runserver, log in as staff)"
    )
    return lines


def _pct(value: float) -> str:
    return f"{value:.2f} %"


def _report_lines(report: analytics.Report, decision: dict[str, Any]) -> list[str]:
    """The report's lines; ``decision``: the A/B decision stored when the winner was picked
    (the report's A/B section is as of now, the winner's sends to the rest included)."""
    f, r, b = report.funnel, report.rates, report.bounces
    lines = [
        f"  funnel         recipients {f.recipients} → sent {f.sent} → delivered {f.delivered}"
        f" → opened {f.opened} → clicked {f.clicked} → converted {f.converted}",
        f"  rates          over {r.denominator} ({r.base}): open {_pct(r.open)}, "
        f"click {_pct(r.click)}, click-to-open {_pct(r.click_to_open)}, "
        f"conversion {_pct(r.conversion)}",
        f"                 delivery {_pct(r.delivery)} of sent, bounce {_pct(r.bounce)} of "
        f"attempted, complaint {_pct(r.complaint)} and unsubscribe {_pct(r.unsubscribe)} "
        f"over {r.denominator}",
        f"  engagement     opens {report.opens_unique} unique / {report.opens_total} events, "
        f"clicks {report.clicks_unique} unique / {report.clicks_total} events",
        f"  bounces        {b.total:>8}  permanent={b.permanent} refused={b.rejected} "
        f"transient={b.transient} (not counted)",
        f"  complaints     {report.complaints:>8}  unsubscribes={report.unsubscribes}",
        f"  revenue        {report.revenue:>8}  from {report.conversions} conversions",
    ]
    if report.ab is not None:
        ab = report.ab
        decided = decision.get("p_value")
        lines.append(
            f"  A/B winner     {ab.winner or '—':>8}  "
            + (
                f"decided on the test cohort: p={decided:.4f}, "
                f"{'significant' if decision.get('significant') else 'not significant'}"
                if decided is not None
                else "not decided yet"
            )
        )
        lines.append(
            f"  A/B as of now  {ab.metric.replace('_', ' '):>8}  p={ab.p_value:.4f} "
            f"({'significant' if ab.significant else 'not significant'} at "
            f"{ab.confidence * 100:g} %) over every send: "
            + ", ".join(
                f"{v.variant} {v.opened}/{v.sent} opened ({_pct(v.open_rate)})" for v in ab.variants
            )
        )
    for link in report.top_links:
        lines.append(
            f"  top link       {link.clicks:>8}  {link.url} ({link.unique_clickers} unique)"
        )
    return lines


def account_step(command: Any, options: dict[str, Any]) -> list[str]:
    """The account overview's bounce and complaint rates against the SES review
    thresholds, and ``petmail_reconcile``: every counter against the send ledger."""
    o = analytics.overview(days=30)
    lines = ["Account, last 30 days (analytics.overview)"]
    for name, rate, limit, alert in (
        ("bounce rate", o.bounce_rate, o.bounce_threshold, o.bounce_alert),
        ("complaint rate", o.complaint_rate, o.complaint_threshold, o.complaint_alert),
    ):
        words = "AT OR OVER the SES review threshold" if alert else "under the SES threshold"
        lines.append(f"  {name:<15}{_pct(rate):>8}  ({words} of {_pct(limit)})")
    lines.append(f"  sent           {o.sent:>8}  bounces={o.bounces} complaints={o.complaints}")
    lines.append("  overview page  /admin/django_petmail/emailcampaign/overview/")
    out = StringIO()
    call_command("petmail_reconcile", stdout=out, no_color=True)
    lines.append("petmail_reconcile")
    lines.extend(f"  {line}" for line in out.getvalue().splitlines())
    return lines


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

    from django.test import override_settings

    from django_petmail.models import SequenceEnrollment, SubscriptionStatus
    from django_petmail.sequences.progression import process
    from django_petmail.subscriptions import confirm

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
    campaign_report_step,
    sequences_step,
    account_step,
]


def how_to_open(*, create_admin: bool) -> list[str]:
    """The last lines of the demo: how to look at the clinic it built."""
    users = get_user_model()._default_manager
    if create_admin:
        if not users.filter(username="admin").exists():
            users.create_superuser("admin", "admin@huellas.example", "admin")
        login = [
            "  admin user     admin / admin  (created for this demo database only:",
            f"                 {settings.DATABASES['default']['NAME']}; never reuse it elsewhere)",
        ]
    else:
        login = ["  admin user     create one: python manage.py createsuperuser"]
    mail = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]
    mail_line = (
        "  mail           printed in the terminal running runserver (console backend)"
        if mail == "console"
        else f"  mail           EMAIL_BACKEND = {settings.EMAIL_BACKEND}"
    )
    site = petmail_settings.SITE_URL
    return [
        "",
        "Open the clinic",
        "  start it       cd example_project && ../.venv/bin/python manage.py runserver",
        *login,
        f"  admin          {site}/admin/",
        f"  subscribe page {site}/petmail/subscribe/",
        f"  API            {site}/petmail/api/",
        f"  API docs       {site}/petmail/api/schema/swagger-ui/",
        mail_line,
        "                 (the demo's own steps above used a local SMTP sink and captured mail)",
    ]
