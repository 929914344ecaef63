"""Dispatching claimed batches: personalization, headers and ESP metadata, suppression at
send time, constant queries per batch, every ESP error class, the rate cap and the reaper.

The ESP cannot be reached here, so two tiny backends stand in for it: ``FlakyBackend``
raises the exception a test chose for a recipient, ``EspBackend`` is anymail's test backend
with ESP-like message ids and per-recipient statuses.
"""

import re
import smtplib
from datetime import date, timedelta

import pytest
import requests
from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import (
    AnymailAPIError,
    AnymailConfigurationError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
    AnymailUnsupportedFeature,
)
from anymail.message import AnymailRecipientStatus
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.test import override_settings
from django.utils import timezone

from django_petmail import campaigns
from django_petmail.links import unsubscribe_url, view_online_url
from django_petmail.models import (
    CampaignStatus,
    EmailCampaign,
    EmailEvent,
    EmailSend,
    NewsletterSubscription,
    SendStatus,
    Suppression,
)
from django_petmail.models.subscriptions import email_hash
from django_petmail.sending import ratecap
from django_petmail.sending.claims import claim_batch, reap_stuck, release
from django_petmail.sending.dispatch import dispatch_batch
from django_petmail.sending.mailing import CampaignMailing
from django_petmail.subscriptions import unsubscribe
from django_petmail.tasks import reap_stuck_sends, send_campaign_batch
from django_petmail.tokens import Purpose, resolve_token
from tests.factories import CampaignFactory, OwnerFactory, PetFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

#: address → the exception the ESP raises for it (always), or a list raised one per attempt
#: (then it delivers).
FAILURES: dict = {}
#: address → the recipient status anymail's test backend reports for it.
STATUSES: dict = {}
CONNECTIONS: list = []


class FlakyBackend(LocmemBackend):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        CONNECTIONS.append(self)

    def send_messages(self, messages):
        for message in messages:
            for address in message.to:
                failure = FAILURES.get(address)
                if isinstance(failure, list):
                    failure = failure.pop(0) if failure else None
                if failure is not None:
                    raise failure
        return super().send_messages(messages)


class EspBackend(AnymailTestBackend):
    def get_esp_message_id(self, message):
        return f"esp-{mail.outbox.index(message) + 1}"

    def post_to_esp(self, payload, message):
        status = STATUSES.get(payload.recipient_emails[0])
        if status:
            message.anymail_test_response = {
                "recipient_status": {
                    email: AnymailRecipientStatus(message_id=f"esp-{status}", status=status)
                    for email in payload.recipient_emails
                }
            }
        return super().post_to_esp(payload, message)


FLAKY = "tests.test_dispatch.FlakyBackend"
ESP = "tests.test_dispatch.EspBackend"


@pytest.fixture(autouse=True)
def _esp_state():
    FAILURES.clear()
    STATUSES.clear()
    CONNECTIONS.clear()
    yield
    FAILURES.clear()
    STATUSES.clear()
    CONNECTIONS.clear()


def api_error(status, reason="Error"):
    """What an HTTP API backend raises for an error response from the ESP."""
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    response._content = b'{"message": "%s"}' % reason.encode()
    return AnymailRequestsAPIError(f"ESP API response {status}", response=response)


def petmail(**overrides):
    return override_settings(PETMAIL={**settings.PETMAIL, **overrides})


def sends_of(campaign):
    return list(EmailSend.objects.filter(campaign=campaign).order_by("pk"))


def outbox_to(address):
    return [m for m in mail.outbox if address in m.to]


def html_of(message):
    return next(body for body, mimetype in message.alternatives if mimetype == "text/html")


def start(campaign, **kwargs):
    campaigns.start(campaign, **kwargs)
    campaign.refresh_from_db()
    return campaign


@pytest.fixture
def subs():
    return [SubscriptionFactory(email=f"s{i}@example.com") for i in range(4)]


# --- personalization --------------------------------------------------------------------------

TOKENS_HTML = (
    "<p>first={{ first_name }} owner={{ owner_name }} full={{ owner_full_name }}"
    " pet={{ pet_name }} pets={{ pet_names }}</p>"
    '<p><a href="{{ unsubscribe_url }}">baja</a> <a href="{{ preferences_url }}">prefs</a>'
    ' <a href="{{ view_online_url }}">web</a></p>'
)
TOKENS_TEXT = (
    "first={{ first_name }} owner={{ owner_name }} full={{ owner_full_name }}"
    " pet={{ pet_name }} pets={{ pet_names }}\n"
    "baja={{ unsubscribe_url }}\nprefs={{ preferences_url }}\nweb={{ view_online_url }}"
)
LINK = re.compile(r"https://clinic\.test/petmail/(unsubscribe|preferences|view)/([^/\s\"<]+)/")
PURPOSES = {"unsubscribe": Purpose.UNSUBSCRIBE, "preferences": Purpose.PREFERENCES, "view": "view"}


def links_in(body):
    return dict(LINK.findall(body))


def test_personalization_tokens_in_subject_html_and_text():
    owner = OwnerFactory(first_name="Lucía", last_name="Pérez")
    PetFactory(owner=owner, name="Luna", birthday=date(2018, 3, 1))
    PetFactory(owner=owner, name="Coco", birthday=date(2021, 6, 1))
    sub = SubscriptionFactory(owner=owner, first_name="Ana", email="ana@example.com")
    stranger = SubscriptionFactory(first_name="", email="anon@example.com")
    campaign = CampaignFactory(
        subject="{{ first_name }}, novedades para {{ pet_name }}",
        html_content=TOKENS_HTML,
        text_content=TOKENS_TEXT,
    )

    start(campaign)

    [message] = outbox_to("ana@example.com")
    send = EmailSend.objects.get(campaign=campaign, subscription=sub)
    assert message.subject == "Ana, novedades para Luna"
    expected = "first=Ana owner=Lucía full=Lucía Pérez pet=Luna pets=Luna, Coco"
    assert expected in html_of(message)
    assert message.body.startswith(expected + "\n")
    unsub = unsubscribe_url(sub, send.pk)
    view = view_online_url(sub, send.pk)
    assert f'<a href="{unsub}">baja</a>' in html_of(message)
    assert f'<a href="{view}">web</a>' in html_of(message)
    assert f"baja={unsub}\n" in message.body
    assert f"web={view}\n" in message.body
    for body in (html_of(message), message.body):
        found = links_in(body)
        assert set(found) == {"unsubscribe", "preferences", "view"}
        for kind, token in found.items():
            subscription, data = resolve_token(PURPOSES[kind], token)
            assert (subscription, data.send_id) == (sub, send.pk)

    [anonymous] = outbox_to("anon@example.com")
    assert anonymous.subject == "Amigo, novedades para tu mascota"
    assert "first=Amigo owner=Amigo full=Amigo pet=tu mascota pets=tu mascota" in html_of(anonymous)
    assert unsubscribe_url(stranger, sends_of(campaign)[1].pk) in anonymous.body


def test_each_message_has_unsubscribe_headers_metadata_and_the_esp_id(subs):
    campaign = CampaignFactory()
    with override_settings(EMAIL_BACKEND=ESP):
        start(campaign)

    assert len(mail.outbox) == 4
    for message in mail.outbox:
        [sub] = [s for s in subs if s.email in message.to]
        send = EmailSend.objects.get(campaign=campaign, subscription=sub)
        assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe_url(sub, send.pk)}>"
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        params = message.anymail_test_params
        assert params["metadata"] == {
            "campaign_id": campaign.pk,
            "subscription_id": sub.pk,
            "send_id": send.pk,
        }
        assert params["tags"] == [f"campaign-{campaign.pk}"]
        assert params["from"].addr_spec == "hola@huellas.example"
        assert message.anymail_status.status == {"sent"}
        assert send.esp_message_id == message.anymail_status.message_id
        assert send.esp_message_id.startswith("esp-")
        assert send.status == SendStatus.SENT
        assert send.sent_at is not None
        assert send.attempts == 1
    assert len({s.esp_message_id for s in sends_of(campaign)}) == 4
    # sent_at is the record of a send; events are for what the ESP reports afterwards
    assert not EmailEvent.objects.filter(send__campaign=campaign).exists()


def test_without_an_esp_id_the_message_id_header_is_stored(subs):
    campaign = start(CampaignFactory(from_email="Ofertas <ofertas@huellas.example>"))
    for message in mail.outbox:
        send = EmailSend.objects.get(campaign=campaign, email_address=message.to[0])
        assert send.esp_message_id == message.extra_headers["Message-ID"]
        assert send.esp_message_id.endswith("@huellas.example>")
        assert message.from_email == "Ofertas <ofertas@huellas.example>"


def test_an_english_subscriber_gets_the_english_layout():
    SubscriptionFactory(language="en", email="en@example.com")
    SubscriptionFactory(language="es", email="es@example.com")
    start(CampaignFactory())
    [english] = outbox_to("en@example.com")
    [spanish] = outbox_to("es@example.com")
    assert ">Unsubscribe</a>" in html_of(english)
    assert '<html lang="en">' in html_of(english)
    assert ">Darse de baja</a>" in html_of(spanish)
    assert '<html lang="es">' in html_of(spanish)


def test_one_email_connection_per_batch(subs):
    SubscriptionFactory()
    campaign = CampaignFactory()
    with override_settings(EMAIL_BACKEND=FLAKY), petmail(BATCH_SIZE=2):
        start(campaign)
    assert len(mail.outbox) == 5
    assert len(CONNECTIONS) == 3


# --- suppression at send time -----------------------------------------------------------------


@pytest.mark.parametrize(
    "leave",
    [
        lambda sub: unsubscribe(sub, source="page"),
        lambda sub: Suppression.objects.create(email_hash=email_hash(sub.email), reason="manual"),
        lambda sub: NewsletterSubscription.objects.filter(pk=sub.pk).update(is_paused=True),
        lambda sub: NewsletterSubscription.objects.filter(pk=sub.pk).update(status="bounced"),
    ],
    ids=["unsubscribed", "suppressed", "paused", "bounced"],
)
def test_eligibility_is_checked_again_at_send_time(leave, subs):
    campaign = start(CampaignFactory(), enqueue=False)
    leave(subs[1])

    campaigns.deliver(campaign.pk)

    assert outbox_to(subs[1].email) == []
    assert len(mail.outbox) == 3
    skipped = EmailSend.objects.get(campaign=campaign, subscription=subs[1])
    assert skipped.status == SendStatus.SKIPPED
    assert skipped.error_message == "no longer eligible at send time"
    assert skipped.sent_at is None
    campaign.refresh_from_db()
    assert (campaign.sent_count, campaign.failed_count, campaign.status) == (3, 0, "sent")


# --- constant queries per batch ---------------------------------------------------------------


def _campaign_with(recipients):
    for i in range(recipients):
        owner = OwnerFactory()
        PetFactory(owner=owner, birthday=date(2020, 1, 1))
        PetFactory(owner=owner, birthday=date(2021, 1, 1))
        SubscriptionFactory(owner=owner, language="es" if i % 2 else "en")
    SubscriptionFactory(language="es")  # and one without an owner
    campaign = CampaignFactory(html_content=TOKENS_HTML, text_content=TOKENS_TEXT)
    start(campaign, enqueue=False)
    return campaign


#: One drain of one batch: the campaign, the claim (select, update, read back), the dispatch
#: (DISPATCH_QUERIES), then the next, empty claim and the completion.
DRAIN_QUERIES = 22
#: One batch: the sends with subscriptions and owners, eligibility, the adapter's pets, and
#: the outcome (status updates, ESP ids, events, counters) in a transaction.
DISPATCH_QUERIES = 9


@pytest.mark.parametrize("recipients", [5, 40])
def test_queries_per_batch_do_not_grow_with_recipients(recipients, django_assert_max_num_queries):
    campaign = _campaign_with(recipients)
    with django_assert_max_num_queries(DRAIN_QUERIES):
        result = campaigns.deliver(campaign.pk)
    assert (result.batches, result.sent) == (1, recipients + 1)
    assert len(mail.outbox) == recipients + 1
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT


@pytest.mark.parametrize("recipients", [5, 40])
def test_queries_of_one_dispatch_do_not_grow(recipients, django_assert_max_num_queries):
    campaign = _campaign_with(recipients)
    ids = claim_batch(CampaignMailing(campaign), 100)
    campaign = EmailCampaign.objects.get(pk=campaign.pk)
    with django_assert_max_num_queries(DISPATCH_QUERIES):
        assert dispatch_batch(CampaignMailing(campaign), ids).sent == recipients + 1


# --- ESP errors -------------------------------------------------------------------------------


def refused_smtp(address):
    return smtplib.SMTPRecipientsRefused({address: (550, b"5.1.1 no such user")})


PERMANENT = [
    (lambda a: AnymailRecipientsRefused(), SendStatus.BOUNCED),
    (refused_smtp, SendStatus.BOUNCED),
    (lambda a: api_error(400, "Bad Request"), SendStatus.FAILED),
    (lambda a: api_error(403, "Forbidden"), SendStatus.FAILED),
    (lambda a: AnymailInvalidAddress(f"invalid address {a}"), SendStatus.FAILED),
    (lambda a: smtplib.SMTPResponseException(550, b"mailbox unavailable"), SendStatus.FAILED),
    (lambda a: smtplib.SMTPResponseException(554, b"rejected"), SendStatus.FAILED),
    (lambda a: ValueError("a message that cannot be built"), SendStatus.FAILED),
]


@pytest.mark.parametrize(
    ("make_error", "status"),
    PERMANENT,
    ids=[
        "anymail-refused",
        "smtp-refused",
        "api-400",
        "api-403",
        "invalid-address",
        "smtp-550",
        "smtp-554",
        "other",
    ],
)
def test_permanent_errors_end_the_send_with_the_reason(make_error, status, subs):
    victim = subs[1]
    error = make_error(victim.email)
    FAILURES[victim.email] = error
    campaign = CampaignFactory()
    with override_settings(EMAIL_BACKEND=FLAKY):
        start(campaign)

    send = EmailSend.objects.get(campaign=campaign, subscription=victim)
    assert send.status == status
    assert send.error_message.startswith(type(error).__name__ + ": ")
    assert send.sent_at is None
    assert send.attempts == 1
    assert sorted(a for m in mail.outbox for a in m.to) == sorted(
        s.email for s in subs if s != victim
    )
    victim.refresh_from_db()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert campaign.sent_count == 3
    if status == SendStatus.BOUNCED:
        assert victim.status == "bounced"
        assert (campaign.bounce_count, campaign.failed_count) == (1, 0)
        assert send.bounced_at is not None
        assert send.bounce_type == "rejected"
        event = EmailEvent.objects.get(send=send)
        assert event.event_type == "rejected"
        assert type(error).__name__ in event.description
    else:
        assert victim.status == "active"
        assert (campaign.bounce_count, campaign.failed_count) == (0, 1)
        assert not EmailEvent.objects.filter(send=send).exists()


TRANSIENT = [
    lambda: api_error(429, "Too Many Requests"),
    lambda: api_error(503, "Service Unavailable"),
    lambda: api_error(500, "Internal Server Error"),
    lambda: AnymailAPIError("no response"),
    lambda: smtplib.SMTPResponseException(451, b"try again later"),
    lambda: smtplib.SMTPServerDisconnected("gone"),
    lambda: ConnectionError("reset by peer"),
    lambda: TimeoutError("timed out"),
]
TRANSIENT_IDS = ["429", "503", "500", "no-status", "smtp-451", "disconnected", "conn", "timeout"]


@pytest.mark.parametrize("make_error", TRANSIENT, ids=TRANSIENT_IDS)
def test_transient_errors_give_the_send_back(make_error, subs):
    victim = subs[0]
    FAILURES[victim.email] = make_error()
    campaign = start(CampaignFactory(), enqueue=False)
    with override_settings(EMAIL_BACKEND=FLAKY):
        ids = claim_batch(CampaignMailing(campaign), 10, "worker-1")
        result = dispatch_batch(CampaignMailing(campaign), ids)

    send = EmailSend.objects.get(campaign=campaign, subscription=victim)
    assert result.retry == [send.pk]
    assert (result.sent, result.failed, result.bounced) == (3, 0, 0)
    assert send.status == SendStatus.PENDING
    assert send.attempts == 1
    assert (send.claimed_by, send.claimed_at) == ("", None)
    assert len(mail.outbox) == 3
    assert EmailCampaign.objects.get(pk=campaign.pk).failed_count == 0


@pytest.mark.parametrize("make_error", TRANSIENT, ids=TRANSIENT_IDS)
def test_a_transient_error_then_success_sends_once(make_error, subs):
    victim = subs[2]
    FAILURES[victim.email] = [make_error(), make_error()]
    campaign = CampaignFactory()
    with override_settings(EMAIL_BACKEND=FLAKY):
        start(campaign)

    send = EmailSend.objects.get(campaign=campaign, subscription=victim)
    assert send.status == SendStatus.SENT
    assert send.attempts == 3
    assert len(outbox_to(victim.email)) == 1
    assert len(mail.outbox) == 4
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count, campaign.failed_count) == ("sent", 4, 0)


@pytest.mark.parametrize("max_retries", [1, 3])
def test_persistent_transient_errors_fail_after_max_retries(max_retries, subs):
    victim = subs[3]
    FAILURES[victim.email] = api_error(503, "Service Unavailable")
    campaign = CampaignFactory()
    with override_settings(EMAIL_BACKEND=FLAKY), petmail(MAX_RETRIES=max_retries):
        start(campaign)

    send = EmailSend.objects.get(campaign=campaign, subscription=victim)
    assert send.status == SendStatus.FAILED
    assert send.attempts == max_retries
    assert send.error_message.startswith(f"gave up after {max_retries} attempts; last: ")
    assert "503" in send.error_message  # the last ESP answer is kept
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count, campaign.failed_count) == ("sent", 3, 1)
    assert outbox_to(victim.email) == []


@pytest.mark.parametrize(
    "make_error",
    [
        lambda: AnymailConfigurationError("missing API key"),
        lambda: AnymailUnsupportedFeature("merge_headers"),
        lambda: ImproperlyConfigured("EMAIL_HOST is wrong"),
    ],
    ids=["anymail-config", "unsupported", "improperly-configured"],
)
def test_fatal_errors_pause_the_campaign_and_keep_the_rest_pending(make_error, subs):
    FAILURES[subs[1].email] = make_error()
    campaign = CampaignFactory()
    with override_settings(EMAIL_BACKEND=FLAKY):
        start(campaign)

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    sends = sends_of(campaign)
    assert [s.status for s in sends] == ["sent", "pending", "pending", "pending"]
    assert [s.attempts for s in sends] == [1, 0, 0, 0]
    assert all(s.claimed_by == "" for s in sends[1:])
    assert (campaign.sent_count, campaign.failed_count) == (1, 0)
    assert [m.to for m in mail.outbox] == [[subs[0].email]]

    # the operator fixes the configuration and resumes: the rest go out, nobody twice
    FAILURES.clear()
    with override_settings(EMAIL_BACKEND=FLAKY):
        campaigns.resume(campaign)
    assert sorted(a for m in mail.outbox for a in m.to) == sorted(s.email for s in subs)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count) == ("sent", 4)


def test_fatal_error_does_not_use_up_retries(subs):
    FAILURES[subs[0].email] = AnymailConfigurationError("missing API key")
    campaign = start(CampaignFactory(), enqueue=False)
    EmailSend.objects.filter(campaign=campaign).update(attempts=4)  # MAX_RETRIES is 5
    with override_settings(EMAIL_BACKEND=FLAKY):
        campaigns.deliver(campaign.pk)
    assert [s.status for s in sends_of(campaign)] == ["pending"] * 4
    assert [s.attempts for s in sends_of(campaign)] == [4] * 4


@pytest.mark.parametrize("status", ["rejected", "invalid"])
def test_an_address_the_esp_rejects_counts_as_a_bounce(status, subs):
    STATUSES[subs[0].email] = status
    campaign = CampaignFactory()
    with override_settings(EMAIL_BACKEND=ESP):
        start(campaign)

    send = EmailSend.objects.get(campaign=campaign, subscription=subs[0])
    assert send.status == SendStatus.BOUNCED
    assert send.error_message.startswith("AnymailRecipientsRefused: ")
    subs[0].refresh_from_db()
    assert subs[0].status == "bounced"
    campaign.refresh_from_db()
    assert (campaign.sent_count, campaign.bounce_count, campaign.status) == (3, 1, "sent")


def test_a_send_time_reject_ends_the_address_like_a_reported_bounce(subs):
    """The same policy as a permanent bounce from the tracking webhook: suppressed (so a
    later re-subscription is refused) and out of every sequence, marketing or not."""
    from django_petmail.models import EnrollmentStatus, Suppression, SuppressionReason
    from django_petmail.models.subscriptions import email_hash
    from tests.factories import EnrollmentFactory, SequenceFactory

    STATUSES[subs[0].email] = "rejected"
    reminders = EnrollmentFactory(
        subscription=subs[0], sequence=SequenceFactory(is_marketing=False)
    )
    other = EnrollmentFactory(subscription=subs[1])
    with override_settings(EMAIL_BACKEND=ESP):
        start(CampaignFactory())
    assert Suppression.objects.get().email_hash == email_hash(subs[0].email)
    assert Suppression.objects.get().reason == SuppressionReason.BOUNCED
    reminders.refresh_from_db()
    other.refresh_from_db()
    assert (reminders.status, reminders.cancelled_reason) == (EnrollmentStatus.CANCELLED, "bounced")
    assert other.status == EnrollmentStatus.ACTIVE


@pytest.mark.parametrize("status", ["rejected", "invalid"])
def test_a_rejected_recipient_status_is_a_bounce_when_anymail_does_not_raise(status, subs):
    STATUSES[subs[0].email] = status
    STATUSES[subs[1].email] = "queued"
    campaign = CampaignFactory()
    with override_settings(
        EMAIL_BACKEND=ESP, ANYMAIL={**settings.ANYMAIL, "IGNORE_RECIPIENT_STATUS": True}
    ):
        start(campaign)

    rejected = EmailSend.objects.get(campaign=campaign, subscription=subs[0])
    assert rejected.status == SendStatus.BOUNCED
    assert rejected.error_message == f"rejected by the ESP ({status})"
    assert rejected.esp_message_id == f"esp-{status}"
    queued = EmailSend.objects.get(campaign=campaign, subscription=subs[1])
    assert (queued.status, queued.esp_message_id) == (SendStatus.SENT, "esp-queued")
    subs[0].refresh_from_db()
    assert subs[0].status == "bounced"
    campaign.refresh_from_db()
    assert (campaign.sent_count, campaign.bounce_count) == (3, 1)


def test_a_template_that_fails_for_one_recipient_fails_only_that_send():
    SubscriptionFactory(first_name="Ana", email="ana@example.com")
    SubscriptionFactory(first_name="Lucas", email="lucas@example.com")
    campaign = CampaignFactory(html_content="<p>{{ 10 / (first_name|length - 3) }}</p>")
    start(campaign)
    failed = EmailSend.objects.get(campaign=campaign, email_address="ana@example.com")
    assert failed.status == SendStatus.FAILED
    assert "cannot be rendered" in failed.error_message
    assert [m.to for m in mail.outbox] == [["lucas@example.com"]]
    assert "<p>5.0</p>" in html_of(mail.outbox[0])


def test_counters_are_exact_with_every_kind_of_outcome():
    ok = [SubscriptionFactory() for _ in range(3)]
    bounced = SubscriptionFactory()
    failed = SubscriptionFactory()
    retried = SubscriptionFactory()
    gone = SubscriptionFactory()
    FAILURES[bounced.email] = AnymailRecipientsRefused()
    FAILURES[failed.email] = api_error(422, "Unprocessable Entity")
    FAILURES[retried.email] = api_error(429, "Too Many Requests")
    campaign = start(CampaignFactory(), enqueue=False)
    unsubscribe(gone, source="page")

    with override_settings(EMAIL_BACKEND=FLAKY), petmail(MAX_RETRIES=2):
        send_campaign_batch(campaign.pk)

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert (campaign.sent_count, campaign.bounce_count, campaign.failed_count) == (3, 1, 2)
    counts = {}
    for send in sends_of(campaign):
        counts[send.status] = counts.get(send.status, 0) + 1
    assert counts == {"sent": 3, "bounced": 1, "failed": 2, "skipped": 1}
    assert len(mail.outbox) == len(ok)


# --- rate cap ---------------------------------------------------------------------------------


class FakeTime:
    def __init__(self, now):
        self.now = now
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_rate_cap_sleeps_when_the_second_is_used_up():
    fake = FakeTime(1000.25)
    with petmail(RATE_LIMIT_PER_SECOND=3):
        for _ in range(3):
            ratecap.acquire(clock=fake.clock, sleep=fake.sleep)
        assert fake.sleeps == []
        ratecap.acquire(clock=fake.clock, sleep=fake.sleep)
        assert fake.sleeps == [0.75]
        assert fake.now == 1001.0
        for _ in range(2):
            ratecap.acquire(clock=fake.clock, sleep=fake.sleep)
        assert fake.sleeps == [0.75]
        ratecap.acquire(clock=fake.clock, sleep=fake.sleep)
        assert fake.sleeps == [0.75, 1.0]


def test_rate_cap_budget_is_shared_by_every_caller():
    worker_a, worker_b = FakeTime(50.5), FakeTime(50.5)
    with petmail(RATE_LIMIT_PER_SECOND=2):
        ratecap.acquire(clock=worker_a.clock, sleep=worker_a.sleep)
        ratecap.acquire(clock=worker_b.clock, sleep=worker_b.sleep)
        ratecap.acquire(clock=worker_a.clock, sleep=worker_a.sleep)
    assert worker_b.sleeps == []
    assert worker_a.sleeps == [0.5]


@pytest.mark.parametrize("limit", [0, None])
def test_no_rate_cap_never_sleeps(limit):
    fake = FakeTime(10.0)
    with petmail(RATE_LIMIT_PER_SECOND=limit):
        for _ in range(100):
            ratecap.acquire(clock=fake.clock, sleep=fake.sleep)
    assert fake.sleeps == []


def test_a_rate_capped_campaign_still_sends_everything(subs):
    campaign = CampaignFactory()
    with petmail(RATE_LIMIT_PER_SECOND=1000):
        start(campaign)
    assert len(mail.outbox) == 4


# --- claims and the reaper --------------------------------------------------------------------


def test_claims_are_exclusive_and_only_for_sending_campaigns(subs):
    campaign = start(CampaignFactory(), enqueue=False)
    first = claim_batch(CampaignMailing(campaign), 3, "a")
    second = claim_batch(CampaignMailing(campaign), 3, "b")
    assert len(first) == 3 and len(second) == 1
    assert not set(first) & set(second)
    assert claim_batch(CampaignMailing(campaign), 3, "c") == []
    assert release(second) == 1
    campaigns.pause(campaign)
    assert claim_batch(CampaignMailing(campaign), 3, "d") == []


def test_the_reaper_marks_stuck_sends_unknown_and_never_resends_them(subs):
    campaign = start(CampaignFactory(), enqueue=False)
    stuck = claim_batch(CampaignMailing(campaign), 2, "a-worker-that-died")
    lease = settings.PETMAIL.get("SEND_LEASE_SECONDS", 900)
    EmailSend.objects.filter(pk__in=stuck).update(
        claimed_at=timezone.now() - timedelta(seconds=lease + 60)
    )

    assert reap_stuck_sends() == stuck
    assert reap_stuck_sends() == []

    send_campaign_batch(campaign.pk)

    reaped = EmailSend.objects.filter(pk__in=stuck)
    assert set(reaped.values_list("status", flat=True)) == {SendStatus.UNKNOWN}
    assert "lease expired" in reaped.first().error_message
    stuck_addresses = set(reaped.values_list("email_address", flat=True))
    delivered = [a for m in mail.outbox for a in m.to]
    assert len(delivered) == 2
    assert not stuck_addresses & set(delivered)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count) == ("sent", 2)


def test_the_reaper_leaves_recent_claims_alone(subs):
    campaign = start(CampaignFactory(), enqueue=False)
    claimed = claim_batch(CampaignMailing(campaign), 2, "busy-worker")
    EmailSend.objects.filter(pk__in=claimed).update(
        claimed_at=timezone.now() - timedelta(seconds=100)
    )
    assert reap_stuck(lease_seconds=900) == []
    with petmail(SEND_LEASE_SECONDS=60):
        assert sorted(reap_stuck_sends()) == sorted(claimed)


def test_rate_budget_reserves_a_block_per_cache_call_and_shares_the_second():
    """Two workers (SEND_CONCURRENCY=2) under a cap of 10/s: each reserves 5 tokens with one
    cache call, the counter shows 10 taken, and an eleventh message waits for the next second."""
    a, b = FakeTime(70.5), FakeTime(70.5)
    with petmail(RATE_LIMIT_PER_SECOND=10, SEND_CONCURRENCY=2):
        worker_a = ratecap.RateBudget(clock=a.clock, sleep=a.sleep)
        worker_b = ratecap.RateBudget(clock=b.clock, sleep=b.sleep)
        worker_a.acquire()
        assert cache.get("petmail:rate:70") == 5  # one reservation, not one call per message
        for _ in range(4):
            worker_a.acquire()
        for _ in range(5):
            worker_b.acquire()
        assert cache.get("petmail:rate:70") == 10
        assert a.sleeps == b.sleeps == []
        worker_a.acquire()
    assert a.sleeps == [0.5]
    assert cache.get("petmail:rate:71") == 5


def test_rate_budget_takes_what_is_left_and_drops_leftovers_at_the_next_second():
    fake = FakeTime(20.0)
    with petmail(RATE_LIMIT_PER_SECOND=10, SEND_CONCURRENCY=1):
        cache.set("petmail:rate:20", 8, timeout=5)  # other workers took 8 of this second
        budget = ratecap.RateBudget(clock=fake.clock, sleep=fake.sleep)
        budget.acquire()
        budget.acquire()
        assert fake.sleeps == []
        budget.acquire()  # only 2 were left: wait for second 21
        assert fake.sleeps == [1.0]
        fake.now = 22.0  # a new second: the 9 unused tokens of 21 are not carried over
        budget.acquire()
        assert cache.get("petmail:rate:22") == 10


def test_rate_budget_block_never_exceeds_the_batch():
    with petmail(RATE_LIMIT_PER_SECOND=100, SEND_CONCURRENCY=1):
        assert ratecap.RateBudget(messages=3).block == 3
        assert ratecap.RateBudget(messages=0).block == 1
        assert ratecap.RateBudget().block == 100
    with petmail(RATE_LIMIT_PER_SECOND=3, SEND_CONCURRENCY=8):
        assert ratecap.RateBudget().block == 1
