"""Interleavings the lifecycle must survive without a 500 or a duplicate."""

import pytest
from django.test import override_settings

from django_petmail import subscriptions
from django_petmail.models import (
    EmailEvent,
    NewsletterSubscription,
    SequenceStep,
    SubscriptionStatus,
)
from django_petmail.subscriptions import (
    Consent,
    SubscribeOutcome,
    subscribe,
    unsubscribe,
    update_preferences,
)
from django_petmail.tokens import Purpose, make_token, resolve_token
from tests.factories import EnrollmentFactory, StepFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_concurrent_insert_of_the_same_address_is_treated_as_existing(monkeypatch):
    """Another request inserts the address between our check and our insert: our INSERT
    hits the unique constraint, the service retries and ends with one row, no error.

    (In one connection the competitor's row is rolled back with our savepoint, so the retry
    creates it; across connections the retry finds it and resends. Either way: one row.)"""
    real = subscriptions._unclaimed_owner

    def other_request_wins(email):
        monkeypatch.setattr(subscriptions, "_unclaimed_owner", real)
        NewsletterSubscription.objects.create(email=email, status=SubscriptionStatus.PENDING)
        return real(email)

    monkeypatch.setattr(subscriptions, "_unclaimed_owner", other_request_wins)
    result = subscribe("race@example.com")
    assert result.outcome in {SubscribeOutcome.CREATED, SubscribeOutcome.RESENT}
    assert NewsletterSubscription.objects.filter(email="race@example.com").count() == 1


def test_consent_without_a_request_uses_the_configured_form_version():
    assert Consent.from_request(None, source="import") == Consent(source="import")
    result = subscribe("form@example.com", consent=Consent(source="import"))
    assert result.subscription.consent_events.get().form == "v1"


def test_update_preferences_rejects_other_fields():
    sub = SubscriptionFactory()
    with pytest.raises(ValueError, match="Not preference fields: \\['status'\\]"):
        update_preferences(sub, status="active")
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE


def test_unsubscribe_from_a_sequence_send_has_no_campaign_counter():
    step = StepFactory()
    sub = SubscriptionFactory()
    enrollment = EnrollmentFactory(sequence=step.sequence, subscription=sub)
    send = step.sends.create(enrollment=enrollment, subscription=sub, email_address=sub.email)
    assert unsubscribe(sub, source="one_click", send_id=send.pk)
    send.refresh_from_db()
    assert send.status == "unsubscribed"
    assert EmailEvent.objects.filter(send=send, event_type="unsubscribe").count() == 1
    assert SequenceStep.objects.count() == 1


def test_links_survive_a_secret_key_rotation(settings):
    sub = SubscriptionFactory()
    token = make_token(Purpose.UNSUBSCRIBE, sub)
    old = settings.SECRET_KEY
    with override_settings(SECRET_KEY="a-brand-new-secret-key", SECRET_KEY_FALLBACKS=[old]):
        assert resolve_token(Purpose.UNSUBSCRIBE, token)[0] == sub
    with override_settings(SECRET_KEY="a-brand-new-secret-key", SECRET_KEY_FALLBACKS=[]):
        from django_petmail.exceptions import InvalidToken

        with pytest.raises(InvalidToken):
            resolve_token(Purpose.UNSUBSCRIBE, token)
