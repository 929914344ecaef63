"""The public subscribe page and the ``subscribe()`` service: double opt-in, no enumeration,
normalization, owner linking, rate limits and bad input."""

import email
import email.policy
import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings
from django.utils import translation
from django.utils.html import escape

from django_petmail import signals
from django_petmail.models import (
    ConsentEvent,
    ConsentEventType,
    NewsletterSubscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    email_hash,
)
from django_petmail.subscriptions import subscribe
from django_petmail.tokens import Purpose, resolve_token
from tests.factories import OwnerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

URL = "/petmail/subscribe/"
DONE = "/petmail/subscribe/done/"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) PetmailTest/1.0"
CONFIRM_LINK = re.compile(r"https://clinic\.test(/petmail/confirm/[^/\s\"<>]+/)")


def form_data(**overrides):
    data = {
        "email": "ana@example.com",
        "first_name": "Ana",
        "frequency": "monthly",
        "topics": ["promotions", "news"],
        "language": "es",
        "consent": "on",
        "source": "website",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST the subscribe form; on-commit callbacks (the confirmation email) run."""

    def _post(**overrides):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, form_data(**overrides), HTTP_USER_AGENT=USER_AGENT)

    return _post


def pending(**kwargs):
    return SubscriptionFactory(status=SubscriptionStatus.PENDING, confirmed_at=None, **kwargs)


def html_of(message):
    return next(body for body, mimetype in message.alternatives if mimetype == "text/html")


def nothing_written():
    return (
        NewsletterSubscription.objects.count() == 0
        and ConsentEvent.objects.count() == 0
        and mail.outbox == []
    )


# The page -----------------------------------------------------------------------------------


def test_page_shows_the_form(client):
    response = client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    assert '<form method="post"' in content
    for name in ("email", "first_name", "frequency", "topics", "language", "consent"):
        assert f'name="{name}"' in content
    assert 'name="csrfmiddlewaretoken"' in content
    assert "<script" not in content


def test_form_post_is_csrf_protected():
    response = Client(enforce_csrf_checks=True).post(URL, form_data())
    assert response.status_code == 403
    assert NewsletterSubscription.objects.count() == 0


# A new address --------------------------------------------------------------------------------


def test_new_address_becomes_pending_and_gets_a_confirmation(post, catch_signal):
    subscribed = catch_signal(signals.subscribed)

    response = post(email=" Ana@Example.COM ")

    assert response.status_code == 303
    assert response["Location"] == DONE
    sub = NewsletterSubscription.objects.get()
    assert sub.email == "ana@example.com"
    assert sub.status == SubscriptionStatus.PENDING
    assert sub.confirmed_at is None
    assert sub.first_name == "Ana"
    assert sub.frequency == "monthly"
    assert sub.topics == ["promotions", "news"]
    assert sub.language == "es"
    assert sub.source == "website"

    event = ConsentEvent.objects.get()
    assert event.subscription == sub
    assert event.event == ConsentEventType.SUBSCRIBED
    assert event.ip_address == "127.0.0.1"
    assert event.user_agent == USER_AGENT
    assert event.source == "website"
    assert event.form == settings.PETMAIL.get("CONSENT_FORM_VERSION", "v1")

    assert len(subscribed) == 1
    assert subscribed[0]["subscription"] == sub
    assert subscribed[0]["request"] is not None


def test_confirmation_email_carries_a_confirm_link(post):
    post(email="Ana@Example.com")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.com"]
    assert message.bcc == []
    sub = NewsletterSubscription.objects.get()
    for body in (message.body, html_of(message)):
        match = CONFIRM_LINK.search(body)
        assert match, body
        token = match.group(1).split("/")[-2]
        assert resolve_token(Purpose.CONFIRM, token)[0] == sub


def test_confirmation_email_is_in_the_subscribers_language(post):
    post(email="es@example.com", language="es")
    post(email="en@example.com", language="en")

    by_address = {message.to[0]: message for message in mail.outbox}
    english = "Confirm your subscription"
    with translation.override("es"):
        spanish = translation.gettext(english)
    assert spanish != english, "the es catalog has no translation of the subject"
    assert by_address["es@example.com"].subject == spanish
    assert by_address["en@example.com"].subject == english


def test_done_page(client):
    response = client.get(DONE)
    assert response.status_code == 200
    with translation.override("es"):
        assert translation.gettext("Check your inbox") in response.content.decode()


# No enumeration -----------------------------------------------------------------------------


def test_every_kind_of_address_gets_the_same_answer(client, post):
    pending(email="pending@example.com")
    SubscriptionFactory(email="active@example.com")
    SubscriptionFactory(email="gone@example.com", status=SubscriptionStatus.UNSUBSCRIBED)
    SubscriptionFactory(email="bounced@example.com", status=SubscriptionStatus.BOUNCED)
    SubscriptionFactory(email="spam@example.com", status=SubscriptionStatus.COMPLAINED)
    Suppression.objects.create(
        email_hash=email_hash("erased@example.com"), reason=SuppressionReason.ERASED
    )

    answers = {}
    for address in (
        "new@example.com",
        "pending@example.com",
        "active@example.com",
        "gone@example.com",
        "bounced@example.com",
        "spam@example.com",
        "erased@example.com",
    ):
        response = post(email=address)
        done = client.get(response["Location"])
        answers[address] = (
            response.status_code,
            response["Location"],
            response.content,
            sorted(response.headers.items()),
            response.cookies.output(),
            done.status_code,
            done.content,
        )

    reference = answers["new@example.com"]
    assert reference[0] == 303
    assert reference[1] == DONE
    for address, answer in answers.items():
        assert answer == reference, address


def test_active_address_is_left_alone(post):
    sub = SubscriptionFactory(email="ana@example.com", frequency="weekly")
    confirmed_at = sub.confirmed_at

    assert post(email="ANA@example.com").status_code == 303

    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE
    assert sub.confirmed_at == confirmed_at
    assert sub.frequency == "weekly"
    assert mail.outbox == []
    assert NewsletterSubscription.objects.count() == 1
    assert ConsentEvent.objects.count() == 0


def test_pending_address_gets_the_confirmation_again(post, catch_signal):
    sub = pending(email="ana@example.com")
    subscribed = catch_signal(signals.subscribed)

    assert post(email="ana@example.com").status_code == 303

    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.PENDING
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ana@example.com"]
    assert CONFIRM_LINK.search(mail.outbox[0].body)
    assert NewsletterSubscription.objects.count() == 1
    assert subscribed == []


def test_unsubscribed_address_goes_through_double_opt_in_again(post, catch_signal):
    sub = SubscriptionFactory(email="ana@example.com", status=SubscriptionStatus.UNSUBSCRIBED)
    assert sub.confirmed_at is not None
    subscribed = catch_signal(signals.subscribed)

    assert post(email="ana@example.com", frequency="monthly").status_code == 303

    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.PENDING
    assert sub.confirmed_at is None
    assert sub.unsubscribed_at is None
    assert sub.frequency == "monthly"
    assert len(mail.outbox) == 1
    assert CONFIRM_LINK.search(mail.outbox[0].body)
    event = ConsentEvent.objects.get(subscription=sub)
    assert event.event == ConsentEventType.SUBSCRIBED
    assert len(subscribed) == 1
    assert NewsletterSubscription.objects.count() == 1


@pytest.mark.parametrize("status", [SubscriptionStatus.BOUNCED, SubscriptionStatus.COMPLAINED])
def test_bounced_or_complained_address_is_never_reactivated(post, status, catch_signal):
    sub = SubscriptionFactory(email="ana@example.com", status=status)
    subscribed = catch_signal(signals.subscribed)

    assert post(email="ana@example.com").status_code == 303

    sub.refresh_from_db()
    assert sub.status == status
    assert mail.outbox == []
    assert ConsentEvent.objects.count() == 0
    assert subscribed == []


def test_suppressed_address_creates_nothing(post):
    Suppression.objects.create(
        email_hash=email_hash("ana@example.com"), reason=SuppressionReason.ERASED
    )
    assert post(email=" ANA@example.com").status_code == 303
    assert nothing_written()


# Owner linking ------------------------------------------------------------------------------


def test_owner_with_the_same_email_is_linked(post):
    owner = OwnerFactory(email="Ana.Garcia@Example.com")
    post(email="ana.garcia@example.COM")
    sub = NewsletterSubscription.objects.get()
    assert sub.owner_id == owner.pk


def test_address_without_an_owner_stays_anonymous(post):
    OwnerFactory(email="someone.else@example.com")
    post(email="ana@example.com")
    assert NewsletterSubscription.objects.get().owner_id is None


def test_owner_who_already_has_a_subscription_is_not_linked_twice(post):
    owner = OwnerFactory(email="ana@example.com")
    existing = SubscriptionFactory(owner=owner, email="ana.old@example.com")

    response = post(email="ana@example.com")

    assert response.status_code == 303
    sub = NewsletterSubscription.objects.get(email="ana@example.com")
    assert sub.owner_id is None
    existing.refresh_from_db()
    assert existing.owner_id == owner.pk
    assert len(mail.outbox) == 1


# Rate limits --------------------------------------------------------------------------------


def test_per_ip_limit_answers_429_with_the_generic_page(post):
    with override_settings(PETMAIL={**settings.PETMAIL, "SUBSCRIBE_RATE_LIMIT_PER_IP": "2/h"}):
        first = post(email="one@example.com")
        second = post(email="two@example.com")
        third = post(email="three@example.com")

    assert first.status_code == second.status_code == 303
    assert third.status_code == 429
    assert "django_petmail/rate_limited.html" in [t.name for t in third.templates]
    with translation.override("es"):
        assert translation.gettext("Too many attempts") in third.content.decode()
    assert "three@example.com" not in third.content.decode()
    assert not NewsletterSubscription.objects.filter(email="three@example.com").exists()
    assert len(mail.outbox) == 2


def test_per_ip_limit_counts_per_address_of_the_client(client, django_capture_on_commit_callbacks):
    with override_settings(PETMAIL={**settings.PETMAIL, "SUBSCRIBE_RATE_LIMIT_PER_IP": "1/h"}):
        first = client.post(URL, form_data(email="one@example.com"), REMOTE_ADDR="10.0.0.1")
        second = client.post(URL, form_data(email="two@example.com"), REMOTE_ADDR="10.0.0.2")
        third = client.post(URL, form_data(email="three@example.com"), REMOTE_ADDR="10.0.0.1")
    assert (first.status_code, second.status_code, third.status_code) == (303, 303, 429)


def test_per_address_limit_is_not_leaked(post):
    limits = {"SUBSCRIBE_RATE_LIMIT_PER_ADDRESS": "1/h"}
    with override_settings(PETMAIL={**settings.PETMAIL, **limits}):
        first = post(email="ana@example.com")
        second = post(email="ANA@example.com")
        other = post(email="luna@example.com")

    assert first.status_code == second.status_code == other.status_code == 303
    assert first["Location"] == second["Location"] == other["Location"] == DONE
    assert first.content == second.content == other.content
    assert sorted(first.headers.items()) == sorted(second.headers.items())
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@example.com", "luna@example.com"]


# Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "ana@"}, "email"),
        ({"email": None}, "email"),
        ({"email": ""}, "email"),
        ({"consent": None}, "consent"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"first_name": "A" * 101}, "first_name"),
        ({"first_name": "Ana\r\nBcc: evil@example.com"}, "first_name"),
        ({"first_name": "Ana\nBcc: evil@example.com"}, "first_name"),
        ({"first_name": "Ana\x00"}, "first_name"),
        ({"topics": ["promotions", "casino"]}, "topics"),
        ({"frequency": "daily"}, "frequency"),
        ({"frequency": None}, "frequency"),
        ({"language": "fr"}, "language"),
        ({"source": "facebook"}, "source"),
    ],
    ids=[
        "invalid-email",
        "incomplete-email",
        "missing-email",
        "empty-email",
        "missing-consent",
        "huge-email",
        "huge-first-name",
        "crlf-first-name",
        "lf-first-name",
        "nul-first-name",
        "unknown-topic",
        "unknown-frequency",
        "missing-frequency",
        "unknown-language",
        "unknown-source",
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(post, overrides, field):
    response = post(**overrides)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors
    content = response.content.decode()
    for message in errors[field]:
        assert escape(message) in content, f"the error for {field} is not shown"
    assert 'role="alert"' in content
    assert nothing_written()


def test_huge_post_is_a_400_not_a_500(post):
    response = post(email="x" * 100_000 + "@example.com", first_name="y" * 100_000)
    assert response.status_code == 400
    assert nothing_written()


# The service ----------------------------------------------------------------------------------


def test_service_cleans_crlf_from_the_name_so_headers_cannot_be_injected(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        subscribe("ana@example.com", first_name="Ana\r\nBcc: evil@example.com\r\n")

    sub = NewsletterSubscription.objects.get()
    assert "\r" not in sub.first_name and "\n" not in sub.first_name
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.recipients() == ["ana@example.com"]
    mime = sent.message()
    assert "Bcc" not in mime
    parsed = email.message_from_bytes(mime.as_bytes(), policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert [name.lower() for name in parsed if name.lower() in {"bcc", "cc"}] == []
    for value in mime.values():
        assert "evil@example.com" not in str(value)


def test_service_rejects_an_invalid_address():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        subscribe("not an address")
    assert NewsletterSubscription.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_smtp_failure_is_not_a_500_and_the_subscription_stays_pending(client, caplog):
    # A real transaction: the confirmation is sent on commit inside the request, as in
    # production, so an exception from the mail server would surface in the response.
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=1,
        EMAIL_TIMEOUT=1,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
    ):
        response = client.post(URL, form_data(email="ana@example.com"))

    assert response.status_code == 303
    assert response["Location"] == DONE
    sub = NewsletterSubscription.objects.get()
    assert sub.status == SubscriptionStatus.PENDING
    assert ConsentEvent.objects.filter(subscription=sub).count() == 1
    # The send was attempted and failed (and the failure was logged for the operator).
    assert any(record.levelname == "ERROR" and record.exc_info for record in caplog.records)
