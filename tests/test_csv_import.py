"""CSV import of subscribers: per-row errors, upsert, consent basis vs double opt-in."""

import io

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_petmail import subscribers_csv
from django_petmail.models import (
    ConsentEvent,
    ConsentEventType,
    NewsletterSubscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    email_hash,
)
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def run(text, basis=""):
    data = text.encode("utf-8")
    import_id = subscribers_csv.start_import(io.BytesIO(data), size=len(data), consent_basis=basis)
    return subscribers_csv.run_import(import_id)


def test_one_bad_row_is_reported_and_the_others_imported():
    state = run(
        "email,first_name,topics\n"
        "ana@example.com,Ana,pet_tips\n"
        "not-an-email,Bad,news\n"
        "luis@example.com,Luis,consejos\n"
        "marta@example.com,Marta,\n"
    )
    assert state["status"] == "done"
    assert state["created"] == 2
    assert state["error_count"] == 2
    assert [(e["row"], e["column"]) for e in state["errors"]] == [(3, "email"), (4, "topics")]
    assert set(NewsletterSubscription.objects.values_list("email", flat=True)) == {
        "ana@example.com",
        "marta@example.com",
    }


def test_upsert_updates_an_existing_address_without_duplicating_it_or_its_status():
    SubscriptionFactory(email="ana@example.com", first_name="Old", status="unsubscribed")
    state = run("Email,Name,frequency\n  ANA@Example.com ,Ana María,monthly\n")
    assert (state["created"], state["updated"]) == (0, 1)
    sub = NewsletterSubscription.objects.get()
    assert (sub.first_name, sub.frequency, sub.status) == ("Ana María", "monthly", "unsubscribed")
    assert not mail.outbox


def test_without_a_consent_basis_new_contacts_are_pending_and_get_a_confirmation():
    state = run("email\nana@example.com\nluis@example.com\n")
    assert state["confirmation_emails"] == 2
    assert len(mail.outbox) == 2
    assert set(NewsletterSubscription.objects.values_list("status", flat=True)) == {"pending"}
    assert list(ConsentEvent.objects.values_list("event", flat=True)) == ["subscribed"] * 2


def test_a_stated_consent_basis_is_recorded_and_no_confirmation_is_sent():
    state = run("email\nana@example.com\n", basis="Paper form at the desk, 2025")
    assert state["confirmation_emails"] == 0
    assert not mail.outbox
    sub = NewsletterSubscription.objects.get()
    assert sub.status == SubscriptionStatus.ACTIVE and sub.confirmed_at is not None
    events = list(sub.consent_events.order_by("pk"))
    assert [e.event for e in events] == [ConsentEventType.SUBSCRIBED, ConsentEventType.CONFIRMED]
    assert events[1].details["basis"] == "Paper form at the desk, 2025"
    assert events[1].source == "import"


def test_a_suppressed_address_is_refused_with_its_row():
    Suppression.objects.create(
        email_hash=email_hash("gone@example.com"), reason=SuppressionReason.BOUNCED
    )
    state = run("email\ngone@example.com\n")
    assert state["errors"] == [
        {"row": 2, "column": "email", "message": state["errors"][0]["message"]}
    ]
    assert not NewsletterSubscription.objects.exists()


@pytest.mark.parametrize(
    ("text", "column"),
    [("name\nAna\n", "email"), ("", "email"), (b"email\n\xff\xfe\n", "")],
)
def test_an_unreadable_file_fails_with_a_message(text, column):
    data = text if isinstance(text, bytes) else text.encode()
    import_id = subscribers_csv.start_import(io.BytesIO(data), size=len(data))
    state = subscribers_csv.run_import(import_id)
    assert state["status"] == "failed"
    assert state["errors"][0]["column"] == column
    assert subscribers_csv.run_import(import_id) == state  # a second run changes nothing


def test_bad_frequency_and_language_name_their_column():
    state = run("email,frequency,language\na@example.com,daily,es\nb@example.com,weekly,xx\n")
    assert [(e["row"], e["column"]) for e in state["errors"]] == [(2, "frequency"), (3, "language")]


def test_the_same_address_twice_keeps_the_last_row_and_batches_make_no_query_per_row(
    monkeypatch,
):
    monkeypatch.setattr(subscribers_csv, "BATCH_SIZE", 50)
    rows = "".join(f"u{i}@example.com,N{i}\n" for i in range(200))
    text = "email,first_name\n" + rows + "u1@example.com,Last\n"
    with CaptureQueriesContext(connection) as ctx:
        state = run(text, basis="contract")
    assert state["created"] == 200
    assert NewsletterSubscription.objects.get(email="u1@example.com").first_name == "Last"
    assert len(ctx.captured_queries) < 40  # 5 statements per batch of 50, not 200+


def test_run_import_of_an_unknown_id_is_a_value_error():
    with pytest.raises(ValueError, match="import_id"):
        subscribers_csv.run_import("nope")
