"""Every model's admin pages render, with search and filters, for staff."""

import pytest
from django.contrib import admin
from django.urls import reverse

from django_petmail import models as pm
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

MODELS = [
    pm.NewsletterSubscription,
    pm.ConsentEvent,
    pm.Suppression,
    pm.EmailTemplate,
    pm.CustomerSegment,
    pm.SegmentMembership,
    pm.EmailCampaign,
    pm.EmailSend,
    pm.EmailEvent,
    pm.AutomatedSequence,
    pm.SequenceStep,
    pm.SequenceEnrollment,
]


@pytest.fixture
def data():
    sub = SubscriptionFactory()
    sub.consent_events.create(event="subscribed", source="website")
    send = SendFactory(subscription=sub, campaign=CampaignFactory(delivered_count=10, open_count=3))
    EventFactory(send=send)
    segment = SegmentFactory()
    segment.memberships.create(subscription=sub)
    step = StepFactory()
    EnrollmentFactory(sequence=step.sequence)
    TemplateFactory()
    pm.Suppression.objects.create(email_hash="0" * 64, reason="manual")
    return {"send": send, "sub": sub}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_model_is_registered(model):
    assert admin.site.is_registered(model)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_renders_with_search(admin_client, data, model):
    url = reverse(f"admin:django_petmail_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "example"}).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_change_page_renders(admin_client, data, model):
    obj = model.objects.first()
    url = reverse(f"admin:django_petmail_{model._meta.model_name}_change", args=[obj.pk])
    assert admin_client.get(url).status_code == 200


def test_campaign_changelist_shows_rates(admin_client, data):
    response = admin_client.get(reverse("admin:django_petmail_emailcampaign_changelist"))
    assert "30.0" in response.content.decode()


def test_consent_ledger_cannot_be_edited_in_admin(admin_client, data):
    event = pm.ConsentEvent.objects.first()
    add = admin_client.get(reverse("admin:django_petmail_consentevent_add"))
    assert add.status_code == 403
    url = reverse("admin:django_petmail_consentevent_change", args=[event.pk])
    response = admin_client.post(url, {"source": "tampered"})
    assert response.status_code == 403
    delete = admin_client.post(
        reverse("admin:django_petmail_consentevent_delete", args=[event.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    event.refresh_from_db()
    assert event.source == "website"


def test_subscription_page_shows_consent_history(admin_client, data):
    url = reverse("admin:django_petmail_newslettersubscription_change", args=[data["sub"].pk])
    assert "Suscripción solicitada" in admin_client.get(url).content.decode()
