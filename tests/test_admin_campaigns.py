"""Campaign admin: progress and preview on the change page, lifecycle and A/B actions with
messages (errors as messages, never a 500), and template errors shown on the form."""

from datetime import timedelta

import pytest
from django.contrib.messages import constants
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from django_petmail import campaigns
from django_petmail.models import (
    CampaignStatus,
    CustomerSegment,
    EmailCampaign,
    EmailSend,
    EmailTemplate,
)
from tests.factories import CampaignFactory, SegmentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_petmail_emailcampaign_changelist"
ADD = "admin:django_petmail_emailcampaign_add"


def change_url(campaign):
    return reverse("admin:django_petmail_emailcampaign_change", args=[campaign.pk])


def act(client, action, *objs):
    response = client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [o.pk for o in objs], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    return [(m.level, m.message) for m in response.context["messages"]]


def campaign_form(**overrides):
    data = {
        "name": "Primavera",
        "status": "draft",
        "template": "",
        "segment": "",
        "topic": "",
        "subject": "Hola {{ first_name }}",
        "preview_text": "",
        "from_email": "",
        "html_content": "<p>Hola {{ first_name }}</p>",
        "text_content": "",
        "scheduled_at_0": "",
        "scheduled_at_1": "",
        "ab_subject_b": "",
        "ab_html_content_b": "",
        "ab_test_percent": "20",
        "ab_winner_metric": "open_rate",
        "ab_wait_hours": "4",
    }
    data.update(overrides)
    return data


@pytest.fixture
def subs():
    return SubscriptionFactory.create_batch(3)


# --- change page ------------------------------------------------------------------------------


def test_change_page_shows_progress_and_a_sandboxed_preview(admin_client, subs):
    campaign = CampaignFactory(html_content="<p>Hola {{ first_name }} {{ cupon }}</p>")
    campaigns.start(campaign, enqueue=False)

    response = admin_client.get(change_url(campaign), headers={"accept-language": "en"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "0 of 3 done (0.0 %), 3 still to send." in page  # words, not a raw dict
    assert "&#x27;pending&#x27;" not in page and "'pending'" not in page
    assert "<iframe sandbox srcdoc=" in page
    assert f"Hola {subs[0].first_name}" in page
    assert "cupon" in page  # the unknown token is flagged


def test_change_page_of_a_sent_campaign(admin_client, subs):
    campaign = CampaignFactory()
    campaigns.start(campaign)
    page = admin_client.get(change_url(campaign), headers={"accept-language": "en"})
    assert "3 of 3 done (100.0 %)." in page.content.decode()


def test_change_page_shows_a_template_error_instead_of_the_preview(admin_client):
    campaign = CampaignFactory()
    EmailCampaign.objects.filter(pk=campaign.pk).update(html_content="{% include 'x' %}")
    response = admin_client.get(change_url(campaign))
    assert response.status_code == 200
    assert "{% include %} is not allowed" in response.content.decode()


def test_add_page_renders(admin_client):
    assert admin_client.get(reverse(ADD)).status_code == 200


# --- actions ----------------------------------------------------------------------------------


def test_start_action(admin_client, subs):
    campaign = CampaignFactory()
    messages = act(admin_client, "start_selected", campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert messages == [(constants.INFO, f"{campaign}: Enviado")]  # as it is now, like the list
    assert len(mail.outbox) == 3


def test_pause_resume_cancel_actions(admin_client, subs):
    campaign = CampaignFactory()
    campaigns.start(campaign, enqueue=False)

    assert act(admin_client, "pause_selected", campaign) == [
        (constants.INFO, f"{campaign}: Pausado")
    ]
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.PAUSED
    assert act(admin_client, "resume_selected", campaign)[0][0] == constants.INFO
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT
    assert len(mail.outbox) == 3

    other = CampaignFactory()
    assert act(admin_client, "cancel_selected", other) == [(constants.INFO, f"{other}: Cancelado")]


@pytest.mark.parametrize(
    ("action", "status", "target"),
    [
        ("pause_selected", "draft", "paused"),
        ("resume_selected", "draft", "sending"),
        ("resume_selected", "sent", "sending"),
        ("cancel_selected", "sending", "cancelled"),
        ("start_selected", "sent", "sending"),
        ("start_selected", "paused", "sending"),
    ],
)
def test_invalid_transitions_are_error_messages(admin_client, action, status, target):
    campaign = CampaignFactory(status=status)
    messages = act(admin_client, action, campaign)
    assert messages == [
        (
            constants.ERROR,
            f"{campaign}: A campaign cannot go from {status!r} to {target!r}.",
        )
    ]
    assert EmailCampaign.objects.get(pk=campaign.pk).status == status


def test_starting_an_unready_campaign_is_an_error_message(admin_client, subs):
    campaign = CampaignFactory(subject="")
    segment = SegmentFactory()
    broken = CampaignFactory(segment=segment, name="Rota")
    CustomerSegment.objects.filter(pk=segment.pk).update(
        rules={"operator": "AND", "conditions": [{"field": "gone", "op": "eq", "value": 1}]}
    )
    messages = act(admin_client, "start_selected", campaign, broken)
    levels = [level for level, _ in messages]
    assert levels == [constants.ERROR, constants.ERROR]
    text = " ".join(message for _, message in messages)
    assert "Una campaña necesita un asunto." in text  # the admin speaks Spanish here
    assert "Las reglas del segmento no son válidas" in text
    assert not EmailSend.objects.exists()


def test_one_campaign_failing_does_not_stop_the_others(admin_client, subs):
    draft = CampaignFactory(name="Lista")
    sent = CampaignFactory(name="Ya enviada", status="sent")
    messages = {m: lvl for lvl, m in act(admin_client, "start_selected", draft, sent)}
    assert messages[f"{draft}: Enviado"] == constants.INFO
    assert messages[f"{sent}: A campaign cannot go from 'sent' to 'sending'."] == constants.ERROR


def test_winner_override_action(admin_client):
    SubscriptionFactory.create_batch(10)
    campaign = CampaignFactory(is_ab_test=True, ab_subject_b="Asunto B", ab_test_percent=20)
    campaigns.start(campaign)

    assert act(admin_client, "winner_b", campaign) == [(constants.INFO, f"{campaign}: B")]

    campaign.refresh_from_db()
    assert campaign.ab_winner == "B"
    assert campaign.status == CampaignStatus.SENT
    assert len(mail.outbox) == 10
    assert act(admin_client, "winner_a", campaign)[0][0] == constants.ERROR
    assert EmailCampaign.objects.get(pk=campaign.pk).ab_winner == "B"


def test_winner_override_of_a_plain_campaign_is_an_error_message(admin_client):
    campaign = CampaignFactory(status="sending")
    [(level, message)] = act(admin_client, "winner_a", campaign)
    assert level == constants.ERROR
    assert "A/B test" in message


# --- forms ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("html_content", '<p>{% include "secretos.html" %}</p>', "{% include %} is not allowed"),
        ("subject", "{{ first_name.upper() }}", "calling functions or methods is not allowed"),
        ("text_content", "{% load static %}", "Encountered unknown tag &#x27;load&#x27;"),
        ("html_content", "<p>{{ settings.__class__ }}</p>", "names starting with"),
    ],
)
def test_campaign_add_with_a_forbidden_construct_shows_the_error(
    admin_client, field, value, fragment
):
    response = admin_client.post(reverse(ADD), campaign_form(**{field: value}))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == [field]
    assert fragment in response.content.decode()
    assert not EmailCampaign.objects.exists()


def test_campaign_add_with_valid_content_saves_a_draft(admin_client):
    response = admin_client.post(reverse(ADD), campaign_form())
    assert response.status_code == 302
    campaign = EmailCampaign.objects.get()
    assert campaign.status == CampaignStatus.DRAFT


@pytest.mark.parametrize("status", ["sending", "paused", "sent", "cancelled"])
def test_the_form_cannot_jump_the_state_machine(admin_client, subs, status):
    response = admin_client.post(reverse(ADD), campaign_form(status=status))
    assert response.status_code == 200
    assert "status" in response.context["adminform"].form.errors
    assert not EmailCampaign.objects.exists()

    campaign = CampaignFactory()
    response = admin_client.post(change_url(campaign), campaign_form(status=status))
    assert response.status_code == 200
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_scheduling_through_the_form_needs_a_future_time(admin_client):
    past = timezone.localtime() - timedelta(hours=1)
    response = admin_client.post(
        reverse(ADD),
        campaign_form(
            status="scheduled",
            scheduled_at_0=past.strftime("%Y-%m-%d"),
            scheduled_at_1=past.strftime("%H:%M:%S"),
        ),
    )
    assert response.status_code == 200
    assert "scheduled_at" in response.context["adminform"].form.errors
    missing = admin_client.post(reverse(ADD), campaign_form(status="scheduled"))
    assert "scheduled_at" in missing.context["adminform"].form.errors

    future = timezone.localtime() + timedelta(days=1)
    response = admin_client.post(
        reverse(ADD),
        campaign_form(
            status="scheduled",
            scheduled_at_0=future.strftime("%Y-%m-%d"),
            scheduled_at_1=future.strftime("%H:%M:%S"),
        ),
    )
    assert response.status_code == 302
    assert EmailCampaign.objects.get().status == CampaignStatus.SCHEDULED


def test_a_sending_campaign_status_is_read_only(admin_client):
    campaign = CampaignFactory(status="sending")
    response = admin_client.get(change_url(campaign))
    assert "status" not in response.context["adminform"].form.fields


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("html_content", "{% extends 'admin/base.html' %}", "{% extends %} is not allowed"),
        ("footer_html", "<p>{{ request.user }}{{ x() }}</p>", "calling functions"),
        ("subject", "{% debug %}", "Encountered unknown tag &#x27;debug&#x27;"),
    ],
)
def test_template_add_with_a_forbidden_construct_shows_the_error(
    admin_client, field, value, fragment
):
    data = {
        "name": "Boletín",
        "slug": "boletin",
        "description": "",
        "template_type": "campaign",
        "subject": "Hola",
        "preview_text": "",
        "html_content": "<p>Hola</p>",
        "text_content": "",
        "footer_html": "",
        "available_tokens": '["{{ first_name }}"]',
        "is_active": "on",
    }
    data[field] = value
    response = admin_client.post(reverse("admin:django_petmail_emailtemplate_add"), data)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert fragment in response.content.decode()
    assert not EmailTemplate.objects.exists()
