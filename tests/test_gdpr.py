"""GDPR export and erase: service, admin actions, management command."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from django_petmail.gdpr import ERASED_ADDRESS, erase_subscriber, export_subscriber
from django_petmail.models import (
    ConsentEvent,
    EmailEvent,
    EmailSend,
    NewsletterSubscription,
    Suppression,
    email_hash,
)
from django_petmail.subscriptions import Consent, SubscribeOutcome, record_consent, subscribe
from tests.factories import EventFactory, OwnerFactory, SendFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    owner = OwnerFactory(email="marta@example.com")
    sub = SubscriptionFactory(email="marta@example.com", first_name="Marta", owner=owner)
    consent = Consent(source="website", form="v1", ip="203.0.113.7", user_agent="Firefox")
    record_consent(sub, "subscribed", consent)
    record_consent(sub, "confirmed", consent)
    record_consent(sub, "unsubscribed", consent, {"reason": "Soy Marta, de la calle Mayor 3"})
    send = SendFactory(subscription=sub, owner=owner, status="opened")
    EventFactory(send=send, event_type="open", ip_address="203.0.113.7", user_agent="Firefox")
    return sub, send


def test_export_contains_subscription_consent_sends_and_events(history):
    sub, send = history
    data = export_subscriber(sub)
    json.dumps(data)  # JSON-ready
    assert data["subscription"]["email"] == "marta@example.com"
    assert [e["event"] for e in data["consent_history"]] == [
        "subscribed",
        "confirmed",
        "unsubscribed",
    ]
    assert data["consent_history"][0]["ip_address"] == "203.0.113.7"
    assert [s["id"] for s in data["sends"]] == [send.pk]
    assert data["sends"][0]["campaign"] == send.campaign.name
    assert [e["event_type"] for e in data["events"]] == ["open"]


def test_erase_anonymizes_and_keeps_a_suppression_hash(history, django_capture_on_commit_callbacks):
    sub, send = history
    events = []
    from django_petmail import signals

    def receiver(**kwargs):
        events.append(kwargs["email_hash"])

    signals.erased.connect(receiver)
    try:
        digest = erase_subscriber(sub)
    finally:
        signals.erased.disconnect(receiver)
    assert events == [digest] == [email_hash("marta@example.com")]
    assert not NewsletterSubscription.objects.exists()
    send.refresh_from_db()
    assert send.email_address == ERASED_ADDRESS
    assert send.owner_id is None and send.subscription_id is None
    event = EmailEvent.objects.get()
    assert event.ip_address is None and event.user_agent == ""
    ledger = list(ConsentEvent.objects.order_by("pk"))
    assert [e.event for e in ledger] == ["subscribed", "confirmed", "unsubscribed", "erased"]
    assert all(e.ip_address is None and e.user_agent == "" for e in ledger)
    assert all(e.details == {} for e in ledger[:-1])  # free text (reasons) is personal data
    assert ledger[-1].details == {"email_hash": digest}
    assert Suppression.is_suppressed("MARTA@example.com")
    # never mailed again: a new subscription attempt is refused and sends nothing
    with django_capture_on_commit_callbacks(execute=True):
        result = subscribe("marta@example.com")
    assert result.outcome is SubscribeOutcome.REFUSED
    assert not NewsletterSubscription.objects.exists()


def test_erase_is_all_or_nothing(history, monkeypatch):
    sub, send = history

    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(NewsletterSubscription, "delete", boom)
    with pytest.raises(RuntimeError):
        erase_subscriber(sub)
    assert NewsletterSubscription.objects.filter(pk=sub.pk).exists()
    assert not Suppression.objects.exists()
    send.refresh_from_db()
    assert send.email_address == "marta@example.com"
    assert ConsentEvent.objects.filter(ip_address="203.0.113.7").count() == 3


def test_command_export_to_stdout_and_file(history, tmp_path):
    out = StringIO()
    call_command("petmail_gdpr", "export", " Marta@Example.com ", stdout=out)
    assert json.loads(out.getvalue())["subscription"]["email"] == "marta@example.com"
    target = tmp_path / "export.json"
    call_command(
        "petmail_gdpr", "export", "marta@example.com", "--output", str(target), stdout=StringIO()
    )
    assert json.loads(target.read_text())["sends"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "not-an-email"], "email: 'not-an-email' is not a valid address"),
        (["export", "nobody@example.com"], "email: no subscription"),
        (["erase", "marta@example.com"], "--yes"),
        (["export", "marta@example.com", "--output", "/nonexistent/dir/x.json"], "--output"),
    ],
)
def test_command_bad_input(history, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("petmail_gdpr", *args, stdout=StringIO())
    assert NewsletterSubscription.objects.filter(email="marta@example.com").exists()


def test_command_erase(history):
    out = StringIO()
    call_command("petmail_gdpr", "erase", "marta@example.com", "--yes", stdout=out)
    assert "Erased marta@example.com" in out.getvalue()
    assert Suppression.is_suppressed("marta@example.com")


def _changelist():
    return reverse("admin:django_petmail_newslettersubscription_changelist")


def test_admin_export_action(admin_client, history):
    sub, _ = history
    response = admin_client.post(
        _changelist(), {"action": "export_selected", "_selected_action": [sub.pk]}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)[0]["subscription"]["email"] == sub.email


def test_admin_erase_action_asks_first(admin_client, history):
    sub, _ = history
    response = admin_client.post(
        _changelist(), {"action": "erase_selected", "_selected_action": [sub.pk]}
    )
    assert response.status_code == 200
    assert "No se puede deshacer" in response.content.decode()
    assert NewsletterSubscription.objects.filter(pk=sub.pk).exists()
    response = admin_client.post(
        _changelist(), {"action": "erase_selected", "_selected_action": [sub.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert not NewsletterSubscription.objects.filter(pk=sub.pk).exists()
    assert Suppression.is_suppressed(sub.email)


def test_admin_unsubscribe_action(admin_client):
    subs = SubscriptionFactory.create_batch(2)
    response = admin_client.post(
        _changelist(),
        {"action": "unsubscribe_selected", "_selected_action": [s.pk for s in subs]},
    )
    assert response.status_code == 302
    assert set(NewsletterSubscription.objects.values_list("status", flat=True)) == {"unsubscribed"}
    assert set(NewsletterSubscription.objects.values_list("unsubscribe_source", flat=True)) == {
        "admin"
    }
    assert EmailSend.objects.count() == 0


def test_export_and_api_use_the_one_subscription_field_list(history):
    from django_petmail.api.serializers import SubscriptionSerializer
    from django_petmail.models import SUBSCRIPTION_FIELDS, SUBSCRIPTION_RECORD_FIELDS

    sub, _send = history
    exported = export_subscriber(sub)["subscription"]
    assert tuple(exported) == (*SUBSCRIPTION_FIELDS, *SUBSCRIPTION_RECORD_FIELDS)
    assert tuple(SubscriptionSerializer(sub).data) == ("id", *SUBSCRIPTION_FIELDS)
    model_fields = {field.name for field in NewsletterSubscription._meta.get_fields()}
    assert set(SUBSCRIPTION_FIELDS) | set(SUBSCRIPTION_RECORD_FIELDS) <= model_fields
    assert not set(SUBSCRIPTION_FIELDS) & set(SUBSCRIPTION_RECORD_FIELDS)
