"""Benchmark scenarios. Each returns rows for the table: ours beside the floor (and peers)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.utils import timezone

from bench.backends import MimeBackend
from bench.run import Measure, Peer, Row, measure
from bench.views import LEDGER_TABLE

DESIGN_RULES = {
    "operator": "AND",
    "conditions": [
        {"field": "pets__species", "op": "eq", "value": "dog"},
        {"field": "last_visit_date", "op": "gte", "value": "-90d"},
        {"field": "lifetime_value", "op": "gte", "value": 1000},
    ],
}

# What a DBA would write by hand for the same three conditions.
FLOOR_SQL = """
SELECT s.id FROM django_petmail_newslettersubscription s
WHERE s.status = 'active' AND NOT s.is_paused
  AND NOT EXISTS (SELECT 1 FROM django_petmail_suppression x WHERE x.email_hash = s.email_hash)
  AND EXISTS (SELECT 1 FROM clinic_pet p WHERE p.owner_id = s.owner_id AND p.species = 'dog')
  AND EXISTS (SELECT 1 FROM clinic_appointment a
              WHERE a.owner_id = s.owner_id AND a.status = 'completed'
                AND (a.start AT TIME ZONE %(tz)s)::date >= %(since)s)
  AND (SELECT COALESCE(SUM(o.total), 0) FROM clinic_order o
       WHERE o.owner_id = s.owner_id AND o.status = 'completed') >= 1000
"""


def segmentation(info: dict[str, Any]) -> list[Row]:
    from django_petmail.segments.service import members_for_rules
    from django_petmail.segments.values import parse_relative

    since = parse_relative("-90d").resolve()  # type: ignore[union-attr]
    params = {"tz": timezone.get_current_timezone_name(), "since": since}

    def ours_count() -> int:
        return members_for_rules(DESIGN_RULES).count()

    def ours_ids() -> int:
        return len(list(members_for_rules(DESIGN_RULES).values_list("pk", flat=True)))

    def floor_count() -> int:
        with connection.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM ({FLOOR_SQL}) t", params)
            return int(cur.fetchone()[0])

    def floor_ids() -> int:
        with connection.cursor() as cur:
            cur.execute(FLOOR_SQL, params)
            return len(cur.fetchall())

    count, base_count = measure(ours_count), measure(floor_count)
    ids, base_ids = measure(ours_ids), measure(floor_ids)
    assert count.result == base_count.result == ids.result == base_ids.result, (
        count.result,
        base_count.result,
        ids.result,
        base_ids.result,
    )
    n = info["subscriptions"]
    return [
        Row(f"segment count ({n:,} subs, {count.result:,} members)", count, base_count, "≤1.3×"),
        Row(f"segment materialize ids ({ids.result:,})", ids, base_ids, "≤1.3×"),
    ]


FANOUT_FLOOR_SQL = """
INSERT INTO django_petmail_emailsend
    (campaign_id, subscription_id, owner_id, email_address, status, ab_variant, claimed_by,
     attempts, esp_message_id, error_message, bounce_type, created_at, updated_at)
SELECT %(campaign)s, s.id, s.owner_id, s.email, 'pending', '', '', 0, '', '', '', now(), now()
FROM django_petmail_newslettersubscription s
WHERE s.status = 'active' AND NOT s.is_paused
  AND NOT EXISTS (SELECT 1 FROM django_petmail_suppression x WHERE x.email_hash = s.email_hash)
ON CONFLICT DO NOTHING
"""


def fanout(info: dict[str, Any]) -> list[Row]:
    """Fan-out of every eligible subscriber (an important campaign: no caps apply)."""
    from django_petmail.models import EmailCampaign, EmailSend
    from django_petmail.sending.fanout import fan_out

    campaign, _ = EmailCampaign.objects.get_or_create(
        name="bench fan-out",
        defaults={"subject": "x", "html_content": "<p>x</p>", "is_important": True},
    )

    def clear() -> None:
        with connection.cursor() as cur:
            cur.execute(
                "DELETE FROM django_petmail_emailsend WHERE campaign_id = %s", [campaign.pk]
            )
            cur.execute("VACUUM django_petmail_emailsend")

    def ours() -> int:
        return fan_out(campaign)

    def floor() -> int:
        with connection.cursor() as cur:
            cur.execute(FANOUT_FLOOR_SQL, {"campaign": campaign.pk})
            return int(cur.rowcount)

    mine, base = measure(ours, setup=clear), measure(floor, setup=clear)
    assert mine.result == base.result, (mine.result, base.result)
    clear()
    EmailSend.objects.filter(campaign=campaign).delete()
    return [
        Row(
            f"fan-out {mine.result:,} of {info['subscriptions']:,} (INSERT…SELECT)",
            mine,
            base,
            "≤1.5×",
        )
    ]


RENDER_N = 2000
HTML = (
    "<html><head><style>p { color: #333; } h1 { color: #2b6cb0; }</style></head><body>"
    "<h1>Hola {{ first_name }}</h1><p>Consejos de otoño para {{ pet_name }} y la familia."
    "</p><p>Con el otoño llegan las hojas y algún susto: revisa las almohadillas, las "
    'vacunas y el abrigo.</p><p><a href="https://huellas.example/otono">Leer más</a></p>'
    "</body></html>"
)


def render_send(info: dict[str, Any]) -> list[Row]:
    """Render + build + hand off RENDER_N messages (full dispatch: claims, ledger, rendering,
    headers, MIME) against a raw loop that only renders three strings and builds MIME, and
    beside two peers sending the same messages to the same addresses through the same
    MimeBackend: django-newsletter and django-post-office."""
    from email.utils import make_msgid

    import jinja2
    from django.core.mail import EmailMultiAlternatives
    from django.test import override_settings

    from django_petmail import campaigns
    from django_petmail.adapter import get_adapter
    from django_petmail.models import CustomerSegment, EmailCampaign, EmailSend
    from django_petmail.sending.dispatch import Renderer
    from django_petmail.sending.mailing import CampaignMailing

    emails = [f"owner{i}@bench.example" for i in range(1, RENDER_N + 1) if i % 10]
    rules = {
        "operator": "OR",
        "conditions": [
            {"field": "email", "op": "in", "value": emails[i : i + 1000]}
            for i in range(0, len(emails), 1000)
        ],
    }
    segment, _ = CustomerSegment.objects.update_or_create(
        slug="bench-render", defaults={"name": "bench render", "rules": rules}
    )
    campaign, _ = EmailCampaign.objects.update_or_create(
        name="bench render",
        defaults={
            "subject": "{{ first_name }}, consejos para {{ pet_name }}",
            "html_content": HTML,
            "segment": segment,
            "is_important": True,
            "status": "draft",
        },
    )

    def reset() -> None:
        EmailSend.objects.filter(campaign=campaign).delete()
        EmailCampaign.objects.filter(pk=campaign.pk).update(status="draft", sent_count=0)
        campaign.refresh_from_db()
        campaigns.start(campaign, enqueue=False)

    def ours() -> int:
        with override_settings(EMAIL_BACKEND="bench.backends.MimeBackend"):
            return campaigns.deliver(campaign.pk, budget_seconds=3600).sent

    # The floor produces the same message (same layout HTML with CSS already inlined, same
    # text, same headers) with plain Jinja2 and precomputed links: no sandbox, no database,
    # no signing, no eligibility check, no ledger.
    content = Renderer(CampaignMailing(campaign)).content("A", "es")
    env = jinja2.Environment(autoescape=True)
    subject_t = jinja2.Environment().from_string(campaign.subject)
    html_t = env.from_string(content.html.source)
    text_t = jinja2.Environment().from_string(content.text.source)
    link = "https://huellas.example/petmail/{}/eyJzIjoxMjM0NSwiYSI6IjAxMjM0NTY3ODlhYmNkZWYifQ:x{}/"
    contexts = [
        {
            "first_name": f"Nombre{i}",
            "pet_name": "Luna",
            "pet_names": "Luna",
            "language": "es",
            "postal_address": "Calle Mayor 1",
            "unsubscribe_url": link.format("unsubscribe", i),
            "preferences_url": link.format("preferences", i),
            "view_online_url": link.format("view", i),
            # first-party tracking, when on: the pixel and one click URL per tracked link
            "open_pixel_url": f"https://huellas.example/petmail/o/{i}.AbCdEfGhIjKlMnOp.gif",
            "click_urls": [
                f"https://huellas.example/petmail/c/{i}.{n}.AbCdEfGhIjKlMnOp/"
                for n in range(len(content.links))
            ],
        }
        for i in range(len(emails))
    ]

    sender = get_adapter().get_from_email()

    def floor() -> tuple[int, int, int]:
        size = 0
        for address, context in zip(emails, contexts, strict=True):
            message = EmailMultiAlternatives(
                subject_t.render(context),
                text_t.render(context),
                sender,
                [address],
                headers={
                    "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    "Message-ID": make_msgid(domain="huellas.example"),
                },
            )
            message.attach_alternative(html_t.render(context), "text/html")
            mime = message.message()
            # a boundary set up front, as petmail's MarketingMessage does (the stdlib would
            # otherwise compile a regular expression per message to pick one)
            mime.set_boundary(f"=_floor_{secrets.token_hex(16)}")
            size += len(mime.as_bytes())
        # The floor builds the MIME bytes itself: (sent, built, bytes) like _counting's.
        return len(emails), len(emails), size

    mine = measure(_counting(ours), setup=reset)
    base = measure(floor)
    newsletter = _newsletter_peer(emails, contexts, subject_t, html_t)
    post_office = _post_office_peer(
        emails, contexts, sender, campaign.subject, content.text.source, content.html.source
    )
    sizes = []
    for name, (sent, built, size) in [
        ("ours", mine.result),
        ("floor", base.result),
        ("django-newsletter", newsletter.result),
        ("django-post-office", post_office.result),
    ]:
        # What each reports as sent and what the backend built: every recipient, once.
        assert sent == built == len(emails), (name, sent, built, len(emails))
        sizes.append(f"{name} {size / built:,.0f}")
    print(f"render: {len(emails):,} messages each; bytes per message: {', '.join(sizes)}")
    ours_rate = len(emails) / mine.seconds
    floor_rate = len(emails) / base.seconds
    row = Row(
        f"render+send {len(emails):,} msgs ({ours_rate:,.0f}/s vs {floor_rate:,.0f}/s)",
        mine,
        base,
        "≥0.5× rate",
        peers=[
            Peer(
                f"django-newsletter ({len(emails) / newsletter.seconds:,.0f}/s)", newsletter, "≥3×"
            ),
            Peer(
                f"django-post-office ({len(emails) / post_office.seconds:,.0f}/s)",
                post_office,
                "≥1.5×",
            ),
        ],
    )
    EmailSend.objects.filter(campaign=campaign).delete()
    return [row]


def _counting(fn: Callable[[], int]) -> Callable[[], tuple[int, int, int]]:
    """``fn`` returning (its own count of messages sent, the messages and bytes MimeBackend
    built meanwhile)."""

    def run() -> tuple[int, int, int]:
        messages, size = MimeBackend.built_messages, MimeBackend.built_bytes
        sent = fn()
        return sent, MimeBackend.built_messages - messages, MimeBackend.built_bytes - size

    return run


def _visible_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


NEWSLETTER_SLUG = "bench-render"  # its templates: bench/templates/newsletter/message/<slug>/
# The campaign's body after the greeting, CSS inlined as petmail inlines it: django-newsletter
# cannot personalize an Article (the greeting with the subscriber's name is in its template),
# and every pet of the bench data is called Luna.
NEWSLETTER_ARTICLE = (
    '<p style="color: #333;">Consejos de otoño para Luna y la familia.</p>\n\n'
    '<p style="color: #333;">Con el otoño llegan las hojas y algún susto: revisa las '
    "almohadillas, las vacunas y el abrigo.</p>\n\n"
    '<p style="color: #333;"><a href="https://huellas.example/otono">Leer más</a></p>'
)


def _newsletter_peer(
    emails: list[str], contexts: list[dict[str, str]], subject_t: Any, html_t: Any
) -> Measure:
    """django-newsletter sending the same newsletter to the same addresses: a Newsletter, one
    Subscription per address (bulk-created, untimed), a Message with one Article, a Submission
    of it to all of them; timed: ``submission.submit()``, which renders its three message
    templates per subscriber and sends each message on the default email backend."""
    from django.conf import settings
    from django.contrib.sites.models import Site
    from newsletter.models import Article, Message, Newsletter, Submission, Subscription

    Site.objects.filter(pk=settings.SITE_ID).update(domain="huellas.example", name="Huellas")
    Site.objects.clear_cache()
    Newsletter.objects.filter(slug=NEWSLETTER_SLUG).delete()
    newsletter = Newsletter.objects.create(
        title="Huellas",
        slug=NEWSLETTER_SLUG,
        email="hola@huellas.example",
        sender="Clínica Veterinaria Huellas",
    )
    now = timezone.now()
    Subscription.objects.bulk_create(
        Subscription(
            newsletter=newsletter,
            email_field=address,
            name_field=context["first_name"],
            subscribed=True,
            subscribe_date=now,
        )
        for address, context in zip(emails, contexts, strict=True)
    )
    message = Message.objects.create(title="Consejos de otoño", slug="otono", newsletter=newsletter)
    Article.objects.create(post=message, title="Consejos de otoño", text=NEWSLETTER_ARTICLE)
    submission = Submission.from_message(message)

    # Same content: the first subscriber's message reads as the floor's does.
    first = submission.get_message(submission.get_subscriptions()[0])
    html = next(content for content, mimetype in first.alternatives if mimetype == "text/html")
    assert first.subject == subject_t.render(contexts[0]), first.subject
    assert _visible_text(html) == _visible_text(html_t.render(contexts[0])), html

    recipients = len(submission.get_subscriptions())

    def submit() -> int:
        submission.sent = False
        submission.submit()
        return recipients if submission.sent else 0

    try:
        return measure(_counting(submit))
    finally:
        newsletter.delete()


def _post_office_peer(
    emails: list[str],
    contexts: list[dict[str, str]],
    sender: str,
    subject: str,
    text: str,
    html: str,
) -> Measure:
    """django-post-office queueing and sending the same messages: an EmailTemplate with the
    floor's three templates (untimed); timed: ``mail.send_many()`` of one email per recipient
    with its context and unsubscribe headers (post-office renders the template per email and
    bulk-inserts them), then ``mail.send_queued()`` batch after batch, in this one process,
    until the queue is empty."""
    from post_office import mail
    from post_office.models import Email, EmailTemplate

    Email.objects.all().delete()
    EmailTemplate.objects.filter(name="bench-render").delete()
    template = EmailTemplate.objects.create(
        name="bench-render", subject=subject, content=text, html_content=html
    )

    def clear() -> None:
        Email.objects.all().delete()

    def queue_and_send() -> int:
        mail.send_many(
            [
                {
                    "recipients": [address],
                    "sender": sender,
                    "template": template,
                    "context": context,
                    "headers": {
                        "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    },
                }
                for address, context in zip(emails, contexts, strict=True)
            ]
        )
        total = 0
        while True:
            sent, failed, requeued = mail.send_queued(processes=1)
            assert not failed and not requeued, (failed, requeued)
            if not sent:
                return total
            total += sent

    try:
        return measure(_counting(queue_and_send), setup=clear)
    finally:
        clear()
        template.delete()


SEQUENCE_N = 100_000  # due enrollments at full size (--scale 1.0)

# The enrollment step written by hand: the same rows, one INSERT … SELECT.
ENROLL_FLOOR_SQL = """
INSERT INTO django_petmail_sequenceenrollment
    (sequence_id, owner_id, subscription_id, cycle, current_step, status, context,
     cancelled_reason, enrolled_at, updated_at)
SELECT %(sequence)s, s.owner_id, s.id, 0, 0, 'active', '{}'::jsonb, '', now(), now()
FROM django_petmail_newslettersubscription s
WHERE s.status = 'active' AND NOT s.is_paused AND s.subscribed_at >= %(cutoff)s
  AND NOT EXISTS (SELECT 1 FROM django_petmail_suppression x WHERE x.email_hash = s.email_hash)
ON CONFLICT DO NOTHING
"""


def sequence_processing(info: dict[str, Any]) -> list[Row]:
    """N due enrollments of a one-step sequence processed end to end — ``process()`` (the
    step's sends in one INSERT … SELECT, the enrollments advanced and completed) then
    ``deliver_step()`` through MimeBackend — as a ratio to the campaign pipeline on the same
    messages in the same run (``start()``'s fan-out, then ``deliver()``): one pipeline, so
    the goal is ≥ 0.8× the campaign's rate. Then the enrollment step (``enroll()`` of the
    same subscribers) against a hand-written INSERT … SELECT, and the number of queries of
    one ``process()`` at N/10 and at N due enrollments (constant)."""
    from datetime import timedelta

    from django.test.utils import CaptureQueriesContext

    from django_petmail import campaigns, signals
    from django_petmail.models import (
        AutomatedSequence,
        CustomerSegment,
        EmailCampaign,
        EmailSend,
        NewsletterSubscription,
        SequenceStep,
    )
    from django_petmail.receivers import queue_workers
    from django_petmail.sequences.delivery import deliver_step
    from django_petmail.sequences.enrollment import enroll
    from django_petmail.sequences.progression import process

    target = max(100, int(SEQUENCE_N * info["subscriptions"] / 1_000_000))
    # the most recent ~`target` eligible subscribers; a segment of exactly them for the campaign
    cutoff = (
        NewsletterSubscription.objects.filter(status="active")
        .order_by("-subscribed_at")
        .values_list("subscribed_at", flat=True)[target - 1]
    )
    who = NewsletterSubscription.objects.filter(subscribed_at__gte=cutoff)
    twin_segment, _ = CustomerSegment.objects.update_or_create(
        slug="bench-sequence-twin",
        defaults={
            "name": "bench sequence twin",
            "rules": {
                "operator": "AND",
                "conditions": [
                    {"field": "subscribed_at", "op": "gte", "value": cutoff.isoformat()}
                ],
            },
        },
    )

    # workers are not queued by process(): this scenario calls deliver_step() itself
    signals.sends_queued.disconnect(dispatch_uid="django_petmail.queue_workers")
    AutomatedSequence.objects.filter(is_active=True).update(is_active=False)
    AutomatedSequence.objects.filter(name="bench sequence").delete()
    sequence = AutomatedSequence.objects.create(name="bench sequence", trigger_type="signup")
    subject = "{{ first_name }}, consejos para {{ pet_name }}"
    step = SequenceStep.objects.create(
        sequence=sequence, step_number=1, subject=subject, html_content=HTML
    )
    campaign, _ = EmailCampaign.objects.update_or_create(
        name="bench sequence twin",
        defaults={
            "subject": subject,
            "html_content": HTML,
            "segment": twin_segment,
            "is_important": True,
            "status": "draft",
        },
    )

    def clear_enrollments() -> None:
        with connection.cursor() as cur:
            cur.execute(
                "DELETE FROM django_petmail_emailsend WHERE sequence_step_id = %s", [step.pk]
            )
            cur.execute(
                "DELETE FROM django_petmail_sequenceenrollment WHERE sequence_id = %s",
                [sequence.pk],
            )
        connection.cursor().execute("VACUUM django_petmail_sequenceenrollment")

    def ours_enroll() -> int:
        return enroll(sequence, who)

    def floor_enroll() -> int:
        with connection.cursor() as cur:
            cur.execute(ENROLL_FLOOR_SQL, {"sequence": sequence.pk, "cutoff": cutoff})
            return int(cur.rowcount)

    enrolled = measure(ours_enroll, setup=clear_enrollments)
    enrolled_floor = measure(floor_enroll, setup=clear_enrollments)
    assert enrolled.result == enrolled_floor.result, (enrolled.result, enrolled_floor.result)
    n = enrolled.result

    def make_due(count: int | None = None) -> None:
        """Every enrollment (or the first ``count``) due for step 1; the rest completed."""
        with connection.cursor() as cur:
            cur.execute(
                "DELETE FROM django_petmail_emailsend WHERE sequence_step_id = %s", [step.pk]
            )
            cur.execute(
                "UPDATE django_petmail_sequenceenrollment SET status = 'completed', "
                "current_step = 1, next_send_at = NULL WHERE sequence_id = %s",
                [sequence.pk],
            )
            cur.execute(
                """
                UPDATE django_petmail_sequenceenrollment SET status = 'active',
                    current_step = 0, next_send_at = now() - interval '1 minute',
                    completed_at = NULL
                WHERE id IN (SELECT id FROM django_petmail_sequenceenrollment
                             WHERE sequence_id = %s ORDER BY id LIMIT %s)
                """,
                [sequence.pk, count if count is not None else n],
            )
            cur.execute("VACUUM ANALYZE django_petmail_emailsend")
            cur.execute("VACUUM ANALYZE django_petmail_sequenceenrollment")
        SequenceStep.objects.filter(pk=step.pk).update(sent_count=0)

    def ours() -> int:
        process(now=timezone.now())
        return deliver_step(step.pk, budget_seconds=3600).sent

    def reset_campaign() -> None:
        EmailSend.objects.filter(campaign=campaign).delete()
        EmailCampaign.objects.filter(pk=campaign.pk).update(status="draft", sent_count=0)
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE django_petmail_emailsend")

    def twin() -> int:
        # the same subscribers: a campaign to a segment of exactly them
        fresh = EmailCampaign.objects.get(pk=campaign.pk)
        campaigns.start(fresh, enqueue=False)
        return campaigns.deliver(fresh.pk, budget_seconds=3600).sent

    repeat = 1 if n > 20_000 else 3
    try:
        seq = measure(_counting(ours), repeat=repeat, setup=make_due)
        camp = measure(_counting(twin), repeat=repeat, setup=reset_campaign)
        for name, (sent, built, _size) in [("sequence", seq.result), ("campaign", camp.result)]:
            assert sent == built == n, (name, sent, built, n)

        queries = {}
        for count in (max(1, n // 10), n):
            make_due(count)
            with CaptureQueriesContext(connection) as ctx:
                process(now=timezone.now() + timedelta(seconds=1))
            queries[count] = len(ctx.captured_queries)
    finally:
        signals.sends_queued.connect(queue_workers, dispatch_uid="django_petmail.queue_workers")
        reset_campaign()
        clear_enrollments()
    print(
        "sequence: queries per process(): "
        + ", ".join(f"{count:,} due → {q}" for count, q in queries.items())
    )
    seq_rate, camp_rate = n / seq.seconds, n / camp.seconds
    return [
        Row(
            f"sequence step {n:,} ({seq_rate:,.0f}/s; campaign {camp_rate:,.0f}/s)",
            seq,
            camp,
            "≥0.8× rate",
        ),
        Row(
            f"sequence enroll {n:,} (INSERT…SELECT; process() "
            f"{'/'.join(str(q) for q in queries.values())} queries)",
            enrolled,
            enrolled_floor,
            "≤1.5×",
        ),
    ]


WEBHOOK_N = 2000  # events at full size (--scale 1.0)
WEBHOOK_URL = "/anymail/amazon_ses/tracking/"
WEBHOOK_FLOOR_URL = "/bench/webhook/"  # bench/views.py
WEBHOOK_LEDGER_URL = "/bench/webhook-ledger/"
WEBHOOK_TOPIC = "arn:aws:sns:eu-west-1:123456789012:petmail-bench"

WEBHOOK_SENDS_SQL = """
INSERT INTO django_petmail_emailsend
    (campaign_id, subscription_id, owner_id, email_address, status, ab_variant, claimed_by,
     attempts, esp_message_id, error_message, bounce_type, sent_at, created_at, updated_at)
SELECT %(campaign)s, s.id, s.owner_id, s.email, 'sent', '', '', 1, 'bench-ses-' || s.id, '', '',
       now(), now(), now()
FROM django_petmail_newslettersubscription s
WHERE s.status = 'active'
ORDER BY s.id
LIMIT %(n)s
"""


def webhook_ingest(info: dict[str, Any]) -> list[Row]:
    """N Amazon SES events, each a signed SNS notification, POSTed one by one to the real
    webhook URL through Django's test ``Client`` (the whole handler and middleware stack, in
    process): basic auth, SNS headers, the SNS signature and topic, the replay check, anymail's
    parsing, and the ledger (one ``EmailEvent`` per event, unique by its ESP id; the send moved
    forward and the campaign's counters with it). The floor POSTs the same bodies with the same
    headers to a bare view that parses the JSON and answers 200. Goal: ≥ 0.5× its rate.
    A second row sets ours beside a view that also stores each message id once, committed
    (one ``INSERT … ON CONFLICT DO NOTHING`` per request): the price of durability alone."""
    import base64
    import json
    import random

    from django.core.cache import cache
    from django.test import Client, override_settings

    from django_petmail.conf import petmail_settings
    from django_petmail.models import EmailCampaign, EmailEvent, EmailSend
    from django_petmail.tracking.testing import sns_test_signer

    n = max(200, int(WEBHOOK_N * info["subscriptions"] / 1_000_000))
    campaign, _ = EmailCampaign.objects.update_or_create(
        name="bench webhook",
        defaults={"subject": "x", "html_content": "<p>x</p>", "status": "sent"},
    )
    # Per send a delivery; an open for the first half of them, a click for the first sixth:
    # about 0.6 × N sends, and N events in a fixed shuffled order.
    n_sends = n * 3 // 5
    EmailSend.objects.filter(campaign=campaign).delete()
    with connection.cursor() as cur:
        cur.execute(WEBHOOK_SENDS_SQL, {"campaign": campaign.pk, "n": n_sends})
    sends = list(
        EmailSend.objects.filter(campaign=campaign)
        .order_by("pk")
        .values_list("pk", "email_address", "esp_message_id")
    )
    plan = [(send, "Delivery") for send in sends]
    plan += [(send, "Open") for send in sends[: n_sends // 2]]
    plan += [(send, "Click") for send in sends[: n_sends // 6]]
    plan = plan[:n]
    random.Random(10).shuffle(plan)
    expected = {
        "delivered_count": n_sends,
        "open_count": len({s for s, kind in plan if kind in ("Open", "Click")}),
        "click_count": len({s for s, kind in plan if kind == "Click"}),
    }

    signer = sns_test_signer()
    timestamp = timezone.now().isoformat().replace("+00:00", "Z")
    posts = []
    for number, ((send_id, address, esp_id), kind) in enumerate(plan):
        event: dict[str, Any] = {
            "eventType": kind,
            "mail": {
                "timestamp": timestamp,
                "source": "hola@huellas.example",
                "messageId": esp_id,
                "destination": [address],
                "headers": [
                    {"name": "X-Metadata", "value": json.dumps({"send_id": send_id})},
                ],
            },
        }
        if kind == "Delivery":
            event["delivery"] = {
                "timestamp": timestamp,
                "recipients": [address],
                "smtpResponse": "250 2.0.0 OK",
                "processingTimeMillis": 412,
            }
        elif kind == "Open":
            event["open"] = {
                "timestamp": timestamp,
                "ipAddress": "192.0.2.1",
                "userAgent": "Mozilla/5.0",
            }
        else:
            event["click"] = {
                "timestamp": timestamp,
                "ipAddress": "192.0.2.1",
                "userAgent": "Mozilla/5.0",
                "link": "https://huellas.example/otono",
            }
        sns_id = f"bench-sns-{number:06d}-{secrets.token_hex(4)}"
        message = signer.sign(
            {
                "Type": "Notification",
                "MessageId": sns_id,
                "TopicArn": WEBHOOK_TOPIC,
                "Message": json.dumps(event),
                "Timestamp": timestamp,
            }
        )
        posts.append((sns_id, json.dumps(message)))
    auth = "Basic " + base64.b64encode(b"petclinic:webhook-secret").decode()
    client = Client()

    def post_all(url: str) -> Callable[[], int]:
        def run() -> int:
            ok = 0
            for sns_id, body in posts:
                response = client.post(
                    url,
                    body,
                    content_type="text/plain",
                    headers={
                        "authorization": auth,
                        "x-amz-sns-message-type": "Notification",
                        "x-amz-sns-message-id": sns_id,
                    },
                )
                ok += response.status_code == 200
            return ok

        return run

    def reset() -> None:
        """No event recorded yet, nothing seen: the replay memory (the cache) emptied and the
        test certificate put back in it."""
        with connection.cursor() as cur:
            cur.execute(
                "DELETE FROM django_petmail_emailevent WHERE send_id IN "
                "(SELECT id FROM django_petmail_emailsend WHERE campaign_id = %s)",
                [campaign.pk],
            )
        EmailSend.objects.filter(campaign=campaign).update(
            status="sent", delivered_at=None, opened_at=None, clicked_at=None
        )
        EmailCampaign.objects.filter(pk=campaign.pk).update(
            delivered_count=0, open_count=0, click_count=0
        )
        cache.clear()
        signer.install()

    def clear_ledger() -> None:
        with connection.cursor() as cur:
            cur.execute(f"TRUNCATE {LEDGER_TABLE}")

    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (message_id text PRIMARY KEY)")

    petmail = {**settings_petmail(), "SNS_TOPIC_ARNS": [WEBHOOK_TOPIC]}
    with override_settings(PETMAIL=petmail):
        assert petmail_settings.SNS_VERIFY_SIGNATURES
        mine = measure(post_all(WEBHOOK_URL), setup=reset)
        base = measure(post_all(WEBHOOK_FLOOR_URL))
        ledger = measure(post_all(WEBHOOK_LEDGER_URL), setup=clear_ledger)
        # the last (traced) run's ledger and counters: every event stored once, counted once
        counters = EmailCampaign.objects.filter(pk=campaign.pk).values(*expected).get()
        stored = EmailEvent.objects.filter(send__campaign=campaign).count()
    assert mine.result == base.result == ledger.result == n, (mine, base, ledger, n)
    assert stored == n and counters == expected, (stored, n, counters, expected)
    reset()
    clear_ledger()
    EmailSend.objects.filter(campaign=campaign).delete()
    ours_rate, floor_rate = n / mine.seconds, n / base.seconds
    return [
        Row(
            f"webhook ingest {n:,} SES events ({ours_rate:,.0f}/s vs {floor_rate:,.0f}/s)",
            mine,
            base,
            "≥0.5× rate",
        ),
        Row(
            f"  same, vs parse + 1 INSERT committed ({n / ledger.seconds:,.0f}/s)",
            mine,
            ledger,
            "(context)",
        ),
    ]


def settings_petmail() -> dict[str, Any]:
    from django.conf import settings

    return dict(getattr(settings, "PETMAIL", {}))


REPORT_SMALL = 10_000  # sends of the small campaign (never more than the subscriptions)
REPORT_BIG = 1_000_000  # sends of the big one at full size; scales with --scale
REPORT_LINKS = [
    "https://huellas.example/otono",
    "https://huellas.example/vacunas",
    "https://huellas.example/tienda",
]

# One send per subscription with id ≤ count, sent over two hours four days ago; the last
# digits of the id decide what happened to it: 1 % bounced (permanent), 0.1 % complained,
# 0.2 % unsubscribed, 30 % opened (within 48 hours), 5 % clicked, the rest delivered.
REPORT_SENDS_SQL = """
INSERT INTO django_petmail_emailsend
    (campaign_id, subscription_id, owner_id, email_address, status, ab_variant, claimed_by,
     attempts, esp_message_id, error_message, bounce_type, sent_at, delivered_at, opened_at,
     clicked_at, bounced_at, created_at, updated_at)
SELECT %(campaign)s, s.id, s.owner_id, s.email,
       CASE WHEN s.id %% 100 = 0 THEN 'bounced'
            WHEN s.id %% 1000 = 1 THEN 'complained'
            WHEN s.id %% 500 = 3 THEN 'unsubscribed'
            WHEN s.id %% 20 = 1 THEN 'clicked'
            WHEN s.id %% 10 IN (1, 2, 3) THEN 'opened'
            ELSE 'delivered' END,
       '', '', 1, 'bench-report-' || %(campaign)s || '-' || s.id, '',
       CASE WHEN s.id %% 100 = 0 THEN 'Permanent' ELSE '' END,
       t.sent,
       CASE WHEN s.id %% 100 <> 0 THEN t.sent + interval '5 seconds' END,
       CASE WHEN s.id %% 100 <> 0 AND s.id %% 10 IN (1, 2, 3)
            THEN t.sent + (s.id %% 48) * interval '1 hour' + interval '10 minutes' END,
       CASE WHEN s.id %% 100 <> 0 AND s.id %% 20 = 1
            THEN t.sent + (s.id %% 48) * interval '1 hour' + interval '11 minutes' END,
       CASE WHEN s.id %% 100 = 0 THEN t.sent + interval '5 seconds' END,
       t.sent, t.sent
FROM django_petmail_newslettersubscription s
CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + (s.id %% 7200) * interval '1 second') t(sent)
WHERE s.id <= %(count)s
"""

# The events behind those sends: a delivery per delivered send, an open per opened one (two
# for a third of them), a machine open for a tenth of the sends, a click on one of three links
# per clicked send, a bounce or complaint per bounced or complaining send, and a transient
# bounce (before the delivery) for 0.4 %.
REPORT_EVENTS_SQL = """
INSERT INTO django_petmail_emailevent
    (send_id, event_type, esp_event_id, link_url, link_tag, user_agent, ip_address, is_machine,
     bounce_type, description, occurred_at, timestamp)
SELECT e.send_id, e.kind, 'bench-' || e.send_id || '-' || e.n, e.link, '', '', NULL,
       e.machine, e.bounce, '', e.at, e.at
FROM (
    SELECT id AS send_id, 'delivery' AS kind, 'd' AS n, '' AS link, false AS machine,
           '' AS bounce, delivered_at AS at
    FROM django_petmail_emailsend WHERE campaign_id = %(campaign)s AND delivered_at IS NOT NULL
    UNION ALL
    SELECT id, 'open', 'o', '', false, '', opened_at
    FROM django_petmail_emailsend WHERE campaign_id = %(campaign)s AND opened_at IS NOT NULL
    UNION ALL
    SELECT id, 'open', 'o2', '', false, '', opened_at + interval '1 hour'
    FROM django_petmail_emailsend
    WHERE campaign_id = %(campaign)s AND opened_at IS NOT NULL AND subscription_id %% 10 = 1
    UNION ALL
    SELECT id, 'open', 'm', '', true, '', delivered_at + interval '2 seconds'
    FROM django_petmail_emailsend
    WHERE campaign_id = %(campaign)s AND delivered_at IS NOT NULL AND subscription_id %% 10 = 4
    UNION ALL
    SELECT id, 'click', 'c', (%(links)s::text[])[1 + subscription_id %% 3], false, '', clicked_at
    FROM django_petmail_emailsend WHERE campaign_id = %(campaign)s AND clicked_at IS NOT NULL
    UNION ALL
    SELECT id, 'bounce', 'b', '', false, 'Permanent', bounced_at
    FROM django_petmail_emailsend WHERE campaign_id = %(campaign)s AND bounced_at IS NOT NULL
    UNION ALL
    SELECT id, 'bounce', 't', '', false, 'Transient', sent_at + interval '1 second'
    FROM django_petmail_emailsend
    WHERE campaign_id = %(campaign)s AND subscription_id %% 250 = 7
    UNION ALL
    SELECT id, 'complaint', 'x', '', false, '', delivered_at + interval '1 hour'
    FROM django_petmail_emailsend WHERE campaign_id = %(campaign)s AND status = 'complained'
) e
"""

# campaign_report()'s numbers written by hand in one statement: the sends' counts in one pass,
# the events' counts, top links and the two hourly series over one scan of the events joined
# to the campaign's sends.
REPORT_FLOOR_SQL = """
WITH agg AS (
    SELECT count(*) FILTER (WHERE status NOT IN ('cancelled', 'held')) AS recipients,
           count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
           count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered,
           count(*) FILTER (WHERE opened_at IS NOT NULL) AS opened,
           count(*) FILTER (WHERE clicked_at IS NOT NULL) AS clicked,
           count(*) FILTER (WHERE bounced_at IS NOT NULL
                            AND bounce_type <> 'suppressed') AS bounced,
           count(*) FILTER (WHERE bounced_at IS NOT NULL
                            AND bounce_type = 'rejected') AS rejected,
           count(*) FILTER (WHERE bounce_type = 'suppressed') AS suppressed,
           count(*) FILTER (WHERE sent_at IS NOT NULL OR (bounced_at IS NOT NULL
                            AND bounce_type <> 'suppressed')) AS attempted,
           count(*) FILTER (WHERE status = 'complained') AS complained,
           count(*) FILTER (WHERE status = 'unsubscribed') AS unsubscribed,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status = 'unknown') AS unknown,
           count(*) FILTER (WHERE status IN ('pending', 'held', 'sending')) AS unfinished,
           count(*) FILTER (WHERE sent_at >= now() - interval '1 minute') AS recent,
           date_trunc('hour', min(sent_at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS origin
    FROM django_petmail_emailsend WHERE campaign_id = %(campaign)s
), ev AS MATERIALIZED (
    SELECT e.send_id, e.event_type, e.is_machine, e.bounce_type, e.link_url, e.occurred_at
    FROM django_petmail_emailevent e
    JOIN django_petmail_emailsend s ON s.id = e.send_id
    WHERE s.campaign_id = %(campaign)s
)
SELECT row_to_json(agg),
       (SELECT row_to_json(x) FROM (
            SELECT count(*) FILTER (WHERE event_type = 'open' AND NOT is_machine) AS opens,
                   count(*) FILTER (WHERE event_type = 'click' AND NOT is_machine) AS clicks,
                   count(*) FILTER (WHERE event_type = 'open' AND is_machine) AS machine_opens,
                   count(DISTINCT send_id) FILTER (WHERE event_type = 'bounce'
                       AND bounce_type IN ('Transient', 'Undetermined')) AS transient
            FROM ev) x),
       (SELECT json_agg(l) FROM (
            SELECT link_url, count(*) AS clicks, count(DISTINCT send_id) AS unique_clickers
            FROM ev WHERE event_type = 'click' AND link_url <> ''
            GROUP BY link_url ORDER BY count(*) DESC, link_url LIMIT 10) l),
       (SELECT json_agg(h) FROM (
            SELECT date_trunc('hour', sent_at AT TIME ZONE 'UTC') AS hour, count(*) AS n
            FROM django_petmail_emailsend
            WHERE campaign_id = %(campaign)s AND sent_at >= agg.origin
              AND sent_at < agg.origin + interval '72 hours'
            GROUP BY 1) h),
       (SELECT json_agg(h) FROM (
            SELECT date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AS hour, event_type,
                   count(*) AS n
            FROM ev
            WHERE event_type IN ('open', 'click') AND occurred_at >= agg.origin
              AND occurred_at < agg.origin + interval '72 hours'
            GROUP BY 1, 2) h)
FROM agg
"""


def report_queries(info: dict[str, Any]) -> list[Row]:
    """``campaign_report()`` of a sent campaign with 10,000 sends and of one with 1,000,000
    (at full size; the big one scales with --scale), each with its events, beside the same
    numbers computed by one hand-written SQL statement; the number of queries of a report is
    printed for both sizes and must be the same."""
    import json

    from django.test.utils import CaptureQueriesContext

    from django_petmail.analytics.reports import campaign_report
    from django_petmail.models import EmailCampaign

    for stale in EmailCampaign.objects.filter(name__startswith="bench report "):
        _drop_report_campaign(stale)  # left by an interrupted run
    subs = info["subscriptions"]
    sizes = [min(REPORT_SMALL, subs), max(REPORT_SMALL, int(REPORT_BIG * subs / 1_000_000))]
    sizes = sorted({min(size, subs) for size in sizes})
    rows, queries = [], {}
    for count in sizes:
        campaign = _report_campaign(count)
        try:
            campaign_report(campaign)  # warm
            with CaptureQueriesContext(connection) as ctx:
                campaign_report(campaign)
            queries[count] = len(ctx.captured_queries)

            def floor(campaign_id: int = campaign.pk) -> tuple[Any, ...]:
                with connection.cursor() as cur:
                    cur.execute(REPORT_FLOOR_SQL, {"campaign": campaign_id})
                    return tuple(cur.fetchone())

            mine = measure(lambda campaign=campaign: campaign_report(campaign))
            base = measure(floor)
        finally:
            _drop_report_campaign(campaign)
        counts, events, links, sent_hours, event_hours = (
            value if isinstance(value, dict | list) or value is None else json.loads(value)
            for value in base.result
        )
        # the same numbers, or the timing means nothing
        got = mine.result
        assert got.funnel.recipients == counts["recipients"] == count, (got.funnel, counts)
        for name in ("sent", "delivered", "opened", "clicked"):
            assert getattr(got.funnel, name) == counts[name], (name, got.funnel, counts)
        assert (got.bounces.total, got.bounces.rejected, got.bounces.transient) == (
            counts["bounced"],
            counts["rejected"],
            events["transient"],
        ), (got.bounces, counts, events)
        assert (got.complaints, got.unsubscribes) == (counts["complained"], counts["unsubscribed"])
        assert (got.opens_total, got.clicks_total, got.machine_opens) == (
            events["opens"],
            events["clicks"],
            events["machine_opens"],
        ), (got, events)
        assert [(link.url, link.clicks, link.unique_clickers) for link in got.top_links] == [
            (link["link_url"], link["clicks"], link["unique_clickers"]) for link in links or []
        ], (got.top_links, links)
        assert sum(point.sent for point in got.timeline) == sum(h["n"] for h in sent_hours or [])
        for kind, attr in (("open", "opens"), ("click", "clicks")):
            assert sum(getattr(point, attr) for point in got.timeline) == sum(
                h["n"] for h in event_hours or [] if h["event_type"] == kind
            ), kind
        rows.append(
            Row(
                f"campaign_report {count:,} sends ({queries[count]} queries)",
                mine,
                base,
                "≤1.5×",
            )
        )
    print(
        "report: queries per campaign_report(): "
        + ", ".join(f"{count:,} sends → {n}" for count, n in queries.items())
    )
    assert len(set(queries.values())) == 1, queries
    return rows


def _report_campaign(count: int) -> Any:
    """A sent campaign of ``count`` sends and their events (generated in SQL, untimed)."""
    from datetime import timedelta

    from django_petmail.models import EmailCampaign

    start = timezone.now() - timedelta(days=4)
    campaign = EmailCampaign.objects.create(
        name=f"bench report {count}",
        subject="x",
        html_content="<p>x</p>",
        status="sent",
        started_at=start,
        completed_at=start + timedelta(hours=2),
    )
    with connection.cursor() as cur:
        cur.execute(REPORT_SENDS_SQL, {"campaign": campaign.pk, "start": start, "count": count})
        cur.execute(REPORT_EVENTS_SQL, {"campaign": campaign.pk, "links": REPORT_LINKS})
        cur.execute(
            """
            UPDATE django_petmail_emailcampaign c SET recipient_count = a.n, sent_count = a.sent,
                delivered_count = a.delivered, open_count = a.opened, click_count = a.clicked,
                bounce_count = a.bounced, complaint_count = a.complained,
                unsubscribe_count = a.unsubscribed
            FROM (SELECT count(*) AS n, count(sent_at) AS sent, count(delivered_at) AS delivered,
                         count(opened_at) AS opened, count(clicked_at) AS clicked,
                         count(bounced_at) AS bounced,
                         count(*) FILTER (WHERE status = 'complained') AS complained,
                         count(*) FILTER (WHERE status = 'unsubscribed') AS unsubscribed
                  FROM django_petmail_emailsend WHERE campaign_id = %(campaign)s) a
            WHERE c.id = %(campaign)s
            """,
            {"campaign": campaign.pk},
        )
        cur.execute("VACUUM ANALYZE django_petmail_emailsend")
        cur.execute("VACUUM ANALYZE django_petmail_emailevent")
    campaign.refresh_from_db()
    return campaign


def _drop_report_campaign(campaign: Any) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "DELETE FROM django_petmail_emailevent WHERE send_id IN "
            "(SELECT id FROM django_petmail_emailsend WHERE campaign_id = %s)",
            [campaign.pk],
        )
        cur.execute("DELETE FROM django_petmail_emailsend WHERE campaign_id = %s", [campaign.pk])
        cur.execute("DELETE FROM django_petmail_emailcampaign WHERE id = %s", [campaign.pk])


ALL = [segmentation, fanout, render_send, sequence_processing, webhook_ingest, report_queries]
