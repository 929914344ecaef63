"""The campaign API: staff only; content validated on save (400 naming the field); the
lifecycle (409 on a wrong state); progress, preview, test sends and the A/B override."""

from datetime import timedelta

import pytest
from celery import current_app
from django.core import mail
from django.utils import timezone

from django_petmail import campaigns
from django_petmail.models import CampaignStatus, CustomerSegment, EmailCampaign, EmailSend
from tests.factories import CampaignFactory, SegmentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

BASE = "/petmail/api/campaigns/"
VALID = {
    "name": "Primavera",
    "subject": "Novedades para {{ pet_name }}",
    "html_content": "<p>Hola {{ first_name }}</p>",
}


def url(campaign, action=""):
    return f"{BASE}{campaign.pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def queued():
    """Tasks go to the (in-memory) broker instead of running at once, as in production:
    a started campaign stays ``sending`` until a worker picks it up."""
    conf = current_app.conf
    previous = conf.task_always_eager
    conf.task_always_eager = False
    yield
    conf.task_always_eager = previous


@pytest.fixture
def subs():
    return SubscriptionFactory.create_batch(3)


# --- permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "action"),
    [
        ("get", None),
        ("post", None),
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "start"),
        ("post", "pause"),
        ("post", "resume"),
        ("post", "cancel"),
        ("post", "schedule"),
        ("post", "winner"),
        ("post", "send-test"),
        ("get", "progress"),
        ("get", "preview"),
    ],
)
def test_staff_only(anonymous_api, non_staff_api, method, action):
    campaign = CampaignFactory()
    target = BASE if action is None else url(campaign, action)
    payload = {"emails": ["qa@example.com"], "winner": "A", **VALID}
    assert getattr(anonymous_api, method)(target, payload, format="json").status_code in (401, 403)

    assert getattr(non_staff_api, method)(target, payload, format="json").status_code == 403
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT
    assert mail.outbox == []


# --- create, edit, delete ---------------------------------------------------------------------


def test_create_a_campaign(api, staff):
    segment = SegmentFactory()
    response = api.post(BASE, {**VALID, "segment": segment.pk, "topic": "news"}, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "draft"
    assert (data["segment"], data["topic"], data["recipient_count"]) == (segment.pk, "news", 0)
    campaign = EmailCampaign.objects.get(pk=data["id"])
    assert campaign.created_by == staff
    assert [row["id"] for row in api.get(BASE).json()["results"]] == [campaign.pk]
    assert api.get(url(campaign)).json()["subject"] == VALID["subject"]


def test_read_only_fields_cannot_be_written(api):
    response = api.post(
        BASE,
        {**VALID, "status": "sent", "sent_count": 99, "ab_winner": "B", "recipient_count": 5},
        format="json",
    )
    assert response.status_code == 201
    campaign = EmailCampaign.objects.get(pk=response.json()["id"])
    assert (campaign.status, campaign.sent_count, campaign.ab_winner) == ("draft", 0, "")
    assert campaign.recipient_count == 0


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("html_content", '{% include "x" %}', "{% include %} is not allowed"),
        ("html_content", "<p>{{ first_name.upper() }}</p>", "calling functions"),
        ("html_content", "<p>{{ x|bogus }}</p>", "No filter named 'bogus'"),
        ("subject", "{{ _secret }}", "names starting with '_'"),
        ("subject", "{% load i18n %}", "unknown tag 'load'"),
        ("text_content", "a\n{% extends 'base.html' %}", "line 2: {% extends %}"),
        ("preview_text", "{% debug %}", "unknown tag 'debug'"),
    ],
)
def test_create_with_a_forbidden_template_is_a_400_naming_the_field(api, field, value, fragment):
    response = api.post(BASE, {**VALID, field: value}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert fragment in errors[field][0]
    assert not EmailCampaign.objects.exists()


@pytest.mark.parametrize("missing", ["subject", "html_content", "name"])
def test_create_without_required_content_is_a_400(api, missing):
    payload = {key: value for key, value in VALID.items() if key != missing}
    response = api.post(BASE, payload, format="json")
    assert response.status_code == 400
    assert missing in response.json()
    blank = api.post(BASE, {**VALID, missing: "  "}, format="json")
    assert blank.status_code == 400
    assert missing in blank.json()


def test_create_an_ab_test_needs_a_variant_b(api):
    response = api.post(BASE, {**VALID, "is_ab_test": True}, format="json")
    assert response.status_code == 400
    assert "ab_subject_b" in response.json()
    response = api.post(
        BASE, {**VALID, "is_ab_test": True, "ab_subject_b": "Otro asunto"}, format="json"
    )
    assert response.status_code == 201


def test_create_with_an_invalid_segment_is_a_400(api):
    segment = SegmentFactory()
    CustomerSegment.objects.filter(pk=segment.pk).update(
        rules={"operator": "AND", "conditions": [{"field": "gone", "op": "eq", "value": 1}]}
    )
    response = api.post(BASE, {**VALID, "segment": segment.pk}, format="json")
    assert response.status_code == 400
    assert "segment" in response.json()


def test_edit_a_draft(api):
    campaign = CampaignFactory()
    response = api.patch(url(campaign), {"subject": "Nuevo {{ first_name }}"}, format="json")
    assert response.status_code == 200
    assert EmailCampaign.objects.get(pk=campaign.pk).subject == "Nuevo {{ first_name }}"

    bad = api.patch(url(campaign), {"html_content": "{% include 'x' %}"}, format="json")
    assert bad.status_code == 400
    assert "html_content" in bad.json()
    assert EmailCampaign.objects.get(pk=campaign.pk).html_content == "<p>Hola {{ first_name }}</p>"


@pytest.mark.parametrize("status", ["sending", "paused", "sent", "cancelled"])
def test_a_campaign_past_draft_cannot_be_edited(api, status):
    campaign = CampaignFactory(status=status)
    response = api.patch(url(campaign), {"subject": "Cambiado"}, format="json")
    assert response.status_code == 400
    assert f"A {status} campaign cannot be edited." in response.json()["status"][0]
    assert EmailCampaign.objects.get(pk=campaign.pk).subject != "Cambiado"


@pytest.mark.parametrize("status", ["scheduled", "sending", "paused", "sent"])
def test_a_live_or_sent_campaign_cannot_be_deleted(api, status):
    campaign = CampaignFactory(status=status)
    response = api.delete(url(campaign))
    assert response.status_code == 400
    assert "cannot be deleted" in response.json()["status"][0]
    assert EmailCampaign.objects.filter(pk=campaign.pk).exists()


@pytest.mark.parametrize("status", ["draft", "cancelled"])
def test_a_draft_or_cancelled_campaign_can_be_deleted(api, status):
    campaign = CampaignFactory(status=status)
    assert api.delete(url(campaign)).status_code == 204
    assert not EmailCampaign.objects.filter(pk=campaign.pk).exists()


# --- lifecycle --------------------------------------------------------------------------------


def test_start_then_start_again_is_a_conflict(api, subs, queued):
    campaign = CampaignFactory()

    response = api.post(url(campaign, "start"))
    assert response.status_code == 200
    assert response.json()["status"] == "sending"
    assert response.json()["recipient_count"] == 3

    again = api.post(url(campaign, "start"))
    assert again.status_code == 409
    assert again.json() == {
        "detail": "A campaign cannot go from 'sending' to 'sending'.",
        "status": "sending",
    }
    assert EmailSend.objects.filter(campaign=campaign).count() == 3


def test_start_sends_through_the_workers(api, subs):
    campaign = CampaignFactory()
    assert api.post(url(campaign, "start")).status_code == 200
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT  # eager tasks in the tests
    assert len(mail.outbox) == 3


def test_start_an_unready_campaign_is_a_400(api, subs):
    campaign = CampaignFactory(subject="")
    response = api.post(url(campaign, "start"))
    assert response.status_code == 400
    assert "subject" in response.json()
    segment = SegmentFactory()
    broken = CampaignFactory(segment=segment)
    CustomerSegment.objects.filter(pk=segment.pk).update(
        rules={"operator": "AND", "conditions": [{"field": "gone", "op": "eq", "value": 1}]}
    )
    response = api.post(url(broken, "start"))
    assert response.status_code == 400
    assert "segment" in response.json()
    assert not EmailSend.objects.exists()


def test_pause_resume_cancel(api, subs, queued):
    campaign = CampaignFactory()
    api.post(url(campaign, "start"))

    assert api.post(url(campaign, "cancel")).status_code == 409  # sending → cancelled
    paused = api.post(url(campaign, "pause"))
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    assert api.post(url(campaign, "pause")).status_code == 409
    resumed = api.post(url(campaign, "resume"))
    assert (resumed.status_code, resumed.json()["status"]) == (200, "sending")
    assert api.post(url(campaign, "resume")).status_code == 409
    api.post(url(campaign, "pause"))
    cancelled = api.post(url(campaign, "cancel"))
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert set(EmailSend.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "cancelled"
    }
    assert api.post(url(campaign, "start")).status_code == 409


def test_resume_a_draft_is_a_conflict(api):
    campaign = CampaignFactory()
    assert api.post(url(campaign, "resume")).status_code == 409
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_schedule(api):
    campaign = CampaignFactory()
    when = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    response = api.post(url(campaign, "schedule"), {"scheduled_at": when.isoformat()})
    assert response.status_code == 200
    assert response.json()["status"] == "scheduled"
    assert EmailCampaign.objects.get(pk=campaign.pk).scheduled_at == when
    assert api.post(url(campaign, "cancel")).json()["status"] == "cancelled"


@pytest.mark.parametrize(
    "value",
    [
        lambda: (timezone.now() - timedelta(hours=1)).isoformat(),
        lambda: "mañana",
        lambda: "",
    ],
    ids=["past", "garbage", "empty"],
)
def test_schedule_in_the_past_or_garbage_is_a_400_on_scheduled_at(api, value):
    campaign = CampaignFactory()
    response = api.post(url(campaign, "schedule"), {"scheduled_at": value()}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["scheduled_at"]
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_schedule_a_sending_campaign_is_a_conflict(api):
    campaign = CampaignFactory(status="sending")
    when = (timezone.now() + timedelta(days=1)).isoformat()
    assert api.post(url(campaign, "schedule"), {"scheduled_at": when}).status_code == 409


def test_lifecycle_of_a_missing_campaign_is_a_404(api):
    assert api.post(f"{BASE}999999/start/").status_code == 404


# --- progress and preview ---------------------------------------------------------------------


def test_progress(api, subs, queued):
    campaign = CampaignFactory()
    api.post(url(campaign, "start"))
    data = api.get(url(campaign, "progress")).json()
    assert data["status"] == "sending"
    assert (data["recipients"], data["done"], data["remaining"]) == (3, 0, 3)
    assert data["by_status"] == {"pending": 3}
    assert data["percent"] == 0.0
    assert data["eta"] is None


def test_preview_flags_unknown_tokens(api, subs):
    campaign = CampaignFactory(html_content="<p>Hola {{ first_name }} {{ cupon }}</p>")
    response = api.get(url(campaign, "preview"))
    assert response.status_code == 200
    data = response.json()
    assert data["unknown_tokens"] == ["cupon"]
    assert f"Hola {subs[0].first_name}" in data["html"]
    assert set(data) == {"subject", "preview_text", "html", "text", "unknown_tokens"}


def test_preview_of_variant_b(api):
    campaign = CampaignFactory(is_ab_test=True, subject="A", ab_subject_b="B {{ first_name }}")
    assert api.get(url(campaign, "preview"), {"variant": "B"}).json()["subject"] == "B Amigo"
    bad = api.get(url(campaign, "preview"), {"variant": "C"})
    assert bad.status_code == 400
    assert "variant" in bad.json()


def test_preview_of_content_that_no_longer_compiles_is_a_400(api):
    campaign = CampaignFactory()
    EmailCampaign.objects.filter(pk=campaign.pk).update(html_content="{% include 'x' %}")
    response = api.get(url(campaign, "preview"))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("html_content: line 1: {% include %}")


# --- test sends -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"emails": []},
        {"emails": ["no es un email"]},
        {"emails": [f"qa{i}@example.com" for i in range(21)]},
        {"emails": ["qa@example.com"], "variant": "C"},
        {},
    ],
    ids=["none", "invalid", "too-many", "bad-variant", "missing"],
)
def test_send_test_validation(api, payload):
    campaign = CampaignFactory()
    response = api.post(url(campaign, "send-test"), payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) <= {"emails", "variant"}
    assert mail.outbox == []


def test_send_test(api, subs):
    campaign = CampaignFactory(subject="Hola {{ first_name }}")
    response = api.post(
        url(campaign, "send-test"), {"emails": ["qa@example.com", "b@example.com"]}, format="json"
    )
    assert (response.status_code, response.json()) == (200, {"sent": 2})
    assert [m.to for m in mail.outbox] == [["qa@example.com"], ["b@example.com"]]
    assert mail.outbox[0].subject == f"[TEST] Hola {subs[0].first_name}"
    assert not EmailSend.objects.exists()


def test_send_test_of_an_unready_campaign_is_a_400(api):
    campaign = CampaignFactory(html_content="")
    response = api.post(url(campaign, "send-test"), {"emails": ["qa@example.com"]})
    assert response.status_code == 400
    assert "html_content" in response.json()


# --- A/B winner -------------------------------------------------------------------------------


def test_winner_override(api):
    SubscriptionFactory.create_batch(10)
    campaign = CampaignFactory(is_ab_test=True, ab_subject_b="B", ab_test_percent=20)
    campaigns.start(campaign)

    response = api.post(url(campaign, "winner"), {"winner": "B"})
    assert response.status_code == 200
    assert response.json()["ab_winner"] == "B"
    assert response.json()["ab_result"]["manual"] is True
    assert len(mail.outbox) == 10

    again = api.post(url(campaign, "winner"), {"winner": "A"})
    assert again.status_code == 409
    assert EmailCampaign.objects.get(pk=campaign.pk).ab_winner == "B"


def test_winner_errors(api):
    plain = CampaignFactory(status="sending")
    assert api.post(url(plain, "winner"), {"winner": "A"}).status_code == 409
    ab = CampaignFactory(status="sending", is_ab_test=True, ab_subject_b="B")
    bad = api.post(url(ab, "winner"), {"winner": "C"})
    assert bad.status_code == 400
    assert "winner" in bad.json()
    assert api.post(url(ab, "winner"), {}).status_code == 400
    assert EmailCampaign.objects.get(pk=ab.pk).ab_winner == ""
