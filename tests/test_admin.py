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


def _value(obj, path):
    for part in path.split("__"):
        obj = getattr(obj, part, None)
    return obj


def _found(admin_client, url, term):
    response = admin_client.get(url, {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_search_finds_what_matches_and_only_that(admin_client, data, model):
    url = reverse(f"admin:django_petmail_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200
    search_fields = admin.site._registry[model].search_fields
    # a word of some row's searchable value (the longest, so it is as specific as it gets)
    obj, term = next(
        (row, max(str(value).split(), key=len))
        for row in model.objects.order_by("pk")
        for field in search_fields
        if (value := _value(row, field))
    )
    found = _found(admin_client, url, term)
    assert obj in found
    for row in found:
        assert any(term.lower() in str(_value(row, f) or "").lower() for f in search_fields)
    assert _found(admin_client, url, "zz-nothing-matches-zz") == []


def test_subscription_search_by_address_finds_that_subscriber(admin_client):
    ana = SubscriptionFactory(email="ana@clinica.test", first_name="Ana")
    SubscriptionFactory(email="luis@clinica.test", first_name="Luis")
    url = reverse("admin:django_petmail_newslettersubscription_changelist")
    assert _found(admin_client, url, "ana@clinica") == [ana]
    assert _found(admin_client, url, "Ana") == [ana]  # first names are searched too
    assert len(_found(admin_client, url, "clinica.test")) == 2


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
