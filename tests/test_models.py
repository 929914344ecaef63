"""Model behaviour: normalization, append-only consent, suppression, rates, labels."""

from decimal import Decimal

import pytest
from django.utils import translation

from django_petmail.models import (
    CAMPAIGN_TRANSITIONS,
    CampaignStatus,
    ConsentEvent,
    ConsentEventType,
    NewsletterSubscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    TriggerType,
    email_hash,
    normalize_email,
)
from django_petmail.models.templates import DEFAULT_TOKENS
from tests.factories import (
    CampaignFactory,
    EnrollmentFactory,
    EventFactory,
    SegmentFactory,
    SendFactory,
    StepFactory,
    SubscriptionFactory,
    TemplateFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Ana@Example.COM ", "ana@example.com"),
        ("x@y.es", "x@y.es"),
        ("", ""),
        ("no-at-sign ", "no-at-sign"),
    ],
)
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected


def test_subscription_saves_normalized_email():
    sub = SubscriptionFactory(email="  Luna@Huellas.EXAMPLE ")
    sub.refresh_from_db()
    assert sub.email == "luna@huellas.example"
    assert str(sub) == "luna@huellas.example"


def test_subscription_defaults_follow_the_design():
    sub = NewsletterSubscription.objects.create(email="new@example.com")
    assert sub.status == SubscriptionStatus.PENDING
    assert sub.frequency == "weekly"
    assert sub.topics == []
    assert sub.language == "es"
    assert sub.confirmed_at is None
    assert not sub.is_mailable


def test_is_mailable_requires_active_and_not_paused():
    sub = SubscriptionFactory()
    assert sub.is_mailable
    sub.is_paused = True
    assert not sub.is_mailable


def test_subscription_links_to_owner(owner):
    sub = SubscriptionFactory(owner=owner, email=owner.email)
    assert owner.newsletter == sub


def test_consent_ledger_is_append_only():
    sub = SubscriptionFactory()
    event = ConsentEvent.objects.create(
        subscription=sub, event=ConsentEventType.SUBSCRIBED, source="website", form="v1"
    )
    event.source = "tampered"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    event.refresh_from_db()
    assert event.source == "website"
    assert str(event).startswith("Suscripción solicitada")


def test_suppression_is_stored_as_a_hash_of_the_normalized_address():
    Suppression.objects.create(
        email_hash=email_hash("Ana@Example.com "), reason=SuppressionReason.ERASED
    )
    assert Suppression.is_suppressed("ana@example.com")
    assert not Suppression.is_suppressed("otra@example.com")
    row = Suppression.objects.get()
    assert "ana" not in row.email_hash
    assert len(row.email_hash) == 64
    assert "Borrado" in str(row)


def test_rates_are_zero_without_deliveries():
    campaign = CampaignFactory()
    assert campaign.open_rate == 0.0
    assert campaign.click_rate == 0.0


def test_rates_are_percentages_of_delivered():
    campaign = CampaignFactory(delivered_count=200, open_count=50, click_count=10)
    assert campaign.open_rate == 25.0
    assert campaign.click_rate == 5.0
    assert campaign.revenue_attributed == Decimal("0")


def test_campaign_transitions_follow_the_state_machine():
    campaign = CampaignFactory()
    assert campaign.can_transition_to(CampaignStatus.SCHEDULED)
    assert not campaign.can_transition_to(CampaignStatus.SENT)
    campaign.status = CampaignStatus.SENDING
    assert campaign.can_transition_to(CampaignStatus.PAUSED)
    assert not campaign.can_transition_to(CampaignStatus.CANCELLED)
    assert CAMPAIGN_TRANSITIONS[CampaignStatus.SENT] == frozenset()
    assert set(CAMPAIGN_TRANSITIONS) == set(CampaignStatus.values)


def test_spanish_labels_are_spelled_correctly():
    with translation.override("es"):
        assert SubscriptionStatus.PENDING.label == "Pendiente de confirmación"
        assert TriggerType.BIRTHDAY.label == "Cumpleaños de la mascota"
        assert TriggerType.SIGNUP.label == "Nueva suscripción"
        assert str(NewsletterSubscription._meta.verbose_name) == "suscripción"
        from django_petmail.models import EmailCampaign, TemplateType

        assert TemplateType.CAMPAIGN.label == "Campaña"
        assert str(EmailCampaign._meta.verbose_name) == "campaña"


def test_english_labels_are_translated():
    with translation.override("en"):
        assert SubscriptionStatus.PENDING.label == "Pending confirmation"
        assert TriggerType.BIRTHDAY.label == "Pet birthday"
        assert CampaignStatus.DRAFT.label == "Draft"


def test_template_defaults_list_the_personalization_tokens():
    template = TemplateFactory()
    assert template.available_tokens == DEFAULT_TOKENS
    assert template.available_tokens is not DEFAULT_TOKENS
    assert str(template) == template.name


def test_string_representations():
    send = SendFactory(email_address="x@example.com")
    assert str(send) == "x@example.com [pending]"
    event = EventFactory(send=send, event_type="open")
    assert str(event) == f"Abierto ({send.pk})"
    segment = SegmentFactory(name="Perros")
    assert str(segment) == "Perros"
    step = StepFactory(step_number=2)
    assert str(step) == f"{step.sequence} #2"
    enrollment = EnrollmentFactory(sequence=step.sequence)
    assert str(enrollment) == f"{step.sequence} → {enrollment.subscription_id}"
    assert str(send.campaign) == send.campaign.name
    assert str(step.sequence) == step.sequence.name
    membership = segment.memberships.create(subscription=send.subscription)
    assert str(membership) == f"{segment.pk}:{send.subscription_id}"


def test_default_language_comes_from_settings(settings):
    settings.PETMAIL = {**settings.PETMAIL, "DEFAULT_LANGUAGE": "en"}
    assert NewsletterSubscription.objects.create(email="en@example.com").language == "en"
