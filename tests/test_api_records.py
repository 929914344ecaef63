"""Sends, events, suppressions, consent history and templates through the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

import django_petmail.models as pm
from tests.factories import (
    CampaignFactory,
    EnrollmentFactory,
    EventFactory,
    OwnerFactory,
    SendFactory,
    SequenceFactory,
    StepFactory,
    SubscriptionFactory,
    TemplateFactory,
)

pytestmark = pytest.mark.django_db

SENDS = "/petmail/api/sends/"
EVENTS = "/petmail/api/events/"
SUPPRESSIONS = "/petmail/api/suppressions/"
CONSENT = "/petmail/api/consent/"
TEMPLATES = "/petmail/api/templates/"


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- sends ------------------------------------------------------------------------------------


def test_sends_filter_by_campaign_status_email_and_date(api):
    campaign = CampaignFactory()
    mine = SendFactory(campaign=campaign, status=pm.SendStatus.SENT)
    failed = SendFactory(campaign=campaign, status=pm.SendStatus.FAILED)
    other = SendFactory()

    assert ids(api.get(SENDS)) == [other.pk, failed.pk, mine.pk]
    assert ids(api.get(SENDS, {"campaign": campaign.pk})) == [failed.pk, mine.pk]
    assert ids(api.get(SENDS, {"campaign": campaign.pk, "status": "sent"})) == [mine.pk]
    assert ids(api.get(SENDS, {"email": f"  {other.email_address.upper()} "})) == [other.pk]
    pm.EmailSend.objects.filter(pk=other.pk).update(created_at=timezone.now() - timedelta(days=10))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(api.get(SENDS, {"since": since})) == [failed.pk, mine.pk]
    assert ids(api.get(SENDS, {"ordering": "id"})) == [mine.pk, failed.pk, other.pk]


def test_sends_filter_by_step(api):
    step = StepFactory(sequence=SequenceFactory())
    send = SendFactory(campaign=None, sequence_step=step)
    SendFactory()
    assert ids(api.get(SENDS, {"step": step.pk})) == [send.pk]
    assert api.get(f"{SENDS}{send.pk}/").json()["step"] == step.pk


def test_sends_are_cursor_paginated(api):
    sends = SendFactory.create_batch(3)
    first = api.get(SENDS, {"page_size": 2}).json()
    assert [row["id"] for row in first["results"]] == [sends[2].pk, sends[1].pk]
    assert "cursor=" in first["next"]
    second = api.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == [sends[0].pk]


@pytest.mark.parametrize(
    "params",
    [
        {"campaign": "x"},
        {"campaign": str(2**70)},
        {"campaign": "0"},
        {"status": "nope"},
        {"since": "yesterday"},
    ],
)
def test_bad_send_filters_are_400_naming_the_parameter(api, params):
    response = api.get(SENDS, params)
    assert response.status_code == 400
    name = next(iter(params))
    assert name in response.json()


def test_sends_are_read_only(api):
    send = SendFactory()
    assert api.post(SENDS, {}, format="json").status_code == 405
    assert api.delete(f"{SENDS}{send.pk}/").status_code == 405


# --- events -----------------------------------------------------------------------------------


def test_events_filter_by_campaign_type_and_email(api):
    send = SendFactory()
    opened = EventFactory(send=send, event_type=pm.EventType.OPEN)
    delivered = EventFactory(send=send)
    other = EventFactory()

    assert ids(api.get(EVENTS)) == [other.pk, delivered.pk, opened.pk]
    assert ids(api.get(EVENTS, {"campaign": send.campaign_id})) == [delivered.pk, opened.pk]
    assert ids(api.get(EVENTS, {"type": "open"})) == [opened.pk]
    assert ids(api.get(EVENTS, {"email": send.email_address})) == [delivered.pk, opened.pk]
    row = api.get(f"{EVENTS}{opened.pk}/").json()
    assert row["campaign"] == send.campaign_id
    assert row["email_address"] == send.email_address


def test_event_list_is_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    EventFactory.create_batch(5)
    with django_assert_max_num_queries(3):
        assert len(ids(api.get(EVENTS))) == 5


# --- suppressions -----------------------------------------------------------------------------


def test_suppressing_an_address_stops_its_mail(api):
    subscription = SubscriptionFactory(email="ana@example.com")
    enrollment = EnrollmentFactory(subscription=subscription)
    response = api.post(SUPPRESSIONS, {"email": " Ana@Example.com "}, format="json")
    assert response.status_code == 201, response.content
    digest = pm.email_hash("ana@example.com")
    assert response.json()["email_hash"] == digest
    assert response.json()["reason"] == "manual"
    subscription.refresh_from_db()
    assert subscription.status == pm.SubscriptionStatus.UNSUBSCRIBED
    enrollment.refresh_from_db()
    assert enrollment.status == pm.EnrollmentStatus.CANCELLED
    assert subscription.consent_events.filter(event="unsubscribed").exists()
    # again: nothing new
    again = api.post(SUPPRESSIONS, {"email": "ana@example.com"}, format="json")
    assert again.status_code == 200
    assert pm.Suppression.objects.count() == 1


def test_suppression_lookup_by_address_or_hash_and_delete(api):
    api.post(SUPPRESSIONS, {"email": "bea@example.com"}, format="json")
    digest = pm.email_hash("bea@example.com")
    assert api.get(f"{SUPPRESSIONS}bea@example.com/").json()["email_hash"] == digest
    assert api.get(f"{SUPPRESSIONS}{digest}/").status_code == 200
    listed = api.get(SUPPRESSIONS, {"email": "BEA@example.com"}).json()
    assert [row["email_hash"] for row in listed["results"]] == [digest]
    assert listed["count"] == 1
    assert api.delete(f"{SUPPRESSIONS}bea@example.com/").status_code == 204
    assert not pm.Suppression.objects.exists()
    assert api.get(f"{SUPPRESSIONS}bea@example.com/").status_code == 404


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "not an address"}, {"email": 12}, {"email": "a@example.com", "x": 1}],
)
def test_bad_suppression_is_400(api, body):
    response = api.post(SUPPRESSIONS, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) & {"email", "x"}


# --- consent history --------------------------------------------------------------------------


def test_consent_history_is_read_only_and_filtered(api):
    ana = SubscriptionFactory(email="ana@example.com")
    api.post(f"/petmail/api/subscriptions/{ana.pk}/unsubscribe/", {}, format="json")
    SubscriptionFactory()
    response = api.get(CONSENT, {"email": "ana@example.com"})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["event"] for row in rows] == ["unsubscribed"]
    assert rows[0]["subscription"] == ana.pk
    assert api.get(CONSENT, {"event": "nope"}).status_code == 400
    assert api.post(CONSENT, {}, format="json").status_code == 405
    assert api.delete(f"{CONSENT}{rows[0]['id']}/").status_code == 405


# --- templates --------------------------------------------------------------------------------


def test_template_crud(api):
    body = {
        "name": "Bienvenida",
        "slug": "bienvenida",
        "subject": "Hola {{ first_name }}",
        "html_content": "<p>Hola {{ first_name }}</p>",
    }
    created = api.post(TEMPLATES, body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    changed = api.patch(f"{TEMPLATES}{pk}/", {"subject": "Bienvenido"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["subject"] == "Bienvenido"
    assert api.get(TEMPLATES, {"template_type": "campaign"}).json()["count"] == 1
    assert api.delete(f"{TEMPLATES}{pk}/").status_code == 204


def test_template_that_does_not_compile_is_400_naming_the_field(api):
    body = {"name": "X", "slug": "x", "subject": "Hola", "html_content": "{% include 'x' %}"}
    response = api.post(TEMPLATES, body, format="json")
    assert response.status_code == 400
    assert "html_content" in response.json()


def test_template_unknown_field_is_400(api):
    template = TemplateFactory()
    response = api.patch(f"{TEMPLATES}{template.pk}/", {"subjet": "typo"}, format="json")
    assert response.status_code == 400
    assert "subjet" in response.json()


def test_template_preview_renders_with_a_sample_context(api):
    template = TemplateFactory()
    subscription = SubscriptionFactory(first_name="Lucía")
    response = api.get(f"{TEMPLATES}{template.pk}/preview/", {"subscription": subscription.pk})
    assert response.status_code == 200, response.content
    assert response.json()["subject"] == "Hola Lucía"
    assert "Lucía" in response.json()["html"]
    assert api.get(f"{TEMPLATES}{template.pk}/preview/").status_code == 200
    missing = api.get(f"{TEMPLATES}{template.pk}/preview/", {"subscription": "x"})
    assert missing.status_code == 400


def test_template_preview_without_subscribers_uses_a_fictional_one(api):
    template = TemplateFactory()
    response = api.get(f"{TEMPLATES}{template.pk}/preview/")
    assert response.status_code == 200, response.content
    assert response.json()["subject"].startswith("Hola")


def test_suppressing_an_owners_address_ends_their_non_marketing_enrollments(api):
    owner = OwnerFactory()
    subscription = SubscriptionFactory(email="eva@example.com", owner=owner)
    transactional = EnrollmentFactory(
        subscription=subscription, sequence=SequenceFactory(is_marketing=False)
    )
    assert api.post(SUPPRESSIONS, {"email": "eva@example.com"}, format="json").status_code == 201
    transactional.refresh_from_db()
    assert transactional.status == pm.EnrollmentStatus.CANCELLED


def test_template_that_fails_to_render_is_400(api):
    template = TemplateFactory(html_content="{% include 'x.html' %}")  # saved without clean()
    response = api.get(f"{TEMPLATES}{template.pk}/preview/")
    assert response.status_code == 400
    assert response.json()["detail"]
