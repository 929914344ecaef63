"""Campaign form: topics from ``TOPICS`` (an unknown stored one refused, naming the field, in
the admin and the API alike), content filled from the chosen template, and scheduling
through ``campaigns.schedule`` / ``campaigns.transition``, never a raw status write."""

from datetime import timedelta

import pytest
from django.contrib.messages import constants
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from django_petmail import campaigns, signals
from django_petmail.exceptions import InvalidTransition
from django_petmail.models import CampaignStatus, EmailCampaign
from tests.factories import CampaignFactory, TemplateFactory
from tests.test_admin_campaigns import ADD, campaign_form, change_url

pytestmark = pytest.mark.django_db


def form_errors(response):
    return response.context["adminform"].form.errors


def test_topic_is_a_select_of_the_configured_topics(admin_client, settings):
    settings.PETMAIL = {**settings.PETMAIL, "TOPICS": ["pet_tips", "news"]}
    form = admin_client.get(reverse(ADD)).context["adminform"].form
    assert [value for value, _ in form.fields["topic"].choices] == ["", "pet_tips", "news"]


def test_a_topic_that_is_not_configured_is_refused_on_the_topic_field(admin_client):
    response = admin_client.post(reverse(ADD), campaign_form(topic="consejos"))
    assert response.status_code == 200
    assert "topic" in form_errors(response)
    assert not EmailCampaign.objects.exists()


def test_a_stored_unknown_topic_is_shown_and_refused_with_its_name(admin_client):
    campaign = CampaignFactory()
    EmailCampaign.objects.filter(pk=campaign.pk).update(topic="consejos")
    page = admin_client.get(change_url(campaign))
    assert "consejos" in dict(page.context["adminform"].form.fields["topic"].choices)
    response = admin_client.post(
        change_url(campaign), campaign_form(topic="consejos"), headers={"accept-language": "en"}
    )
    assert response.status_code == 200
    [message] = form_errors(response)["topic"]
    assert "'consejos' is not a configured topic" in message
    assert "pet_tips" in message


def test_a_configured_topic_is_saved(admin_client):
    response = admin_client.post(reverse(ADD), campaign_form(topic="pet_tips"))
    assert response.status_code == 302
    assert EmailCampaign.objects.get().topic == "pet_tips"


def test_the_api_refuses_an_unknown_topic_with_the_same_check(api):
    response = api.post(
        "/petmail/api/campaigns/",
        {"name": "X", "subject": "Hola", "html_content": "<p>Hola</p>", "topic": "consejos"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",  # the request's language
    )
    assert response.status_code == 400
    assert "'consejos' is not a configured topic" in response.json()["topic"][0]


def test_starting_a_campaign_with_an_unknown_topic_is_refused():
    campaign = CampaignFactory()
    EmailCampaign.objects.filter(pk=campaign.pk).update(topic="consejos")
    campaign.refresh_from_db()
    assert "topic" in campaigns.content_errors(campaign)


def test_a_template_fills_an_empty_subject_and_sends_its_html(admin_client):
    template = TemplateFactory(
        subject="Consejos de {{ first_name }}", preview_text="Para tu mascota", text_content=""
    )
    response = admin_client.post(
        reverse(ADD),
        campaign_form(template=template.pk, subject="", html_content="", preview_text=""),
    )
    assert response.status_code == 302
    campaign = EmailCampaign.objects.get()
    assert campaign.subject == "Consejos de {{ first_name }}"
    assert campaign.preview_text == "Para tu mascota"
    assert campaign.html_content == ""  # the template's HTML is sent, edits included
    assert "Hola" in campaigns.preview(campaign)["html"]


def test_a_subject_given_with_a_template_is_kept(admin_client):
    template = TemplateFactory(subject="Del modelo")
    admin_client.post(reverse(ADD), campaign_form(template=template.pk, subject="Mío"))
    assert EmailCampaign.objects.get().subject == "Mío"


def future_fields(days=1):
    when = timezone.localtime() + timedelta(days=days)
    return {
        "scheduled_at_0": when.strftime("%Y-%m-%d"),
        "scheduled_at_1": when.strftime("%H:%M:%S"),
    }


def test_scheduling_in_the_form_goes_through_the_service(admin_client, catch_signal):
    changes = catch_signal(signals.campaign_state_changed)
    campaign = CampaignFactory()
    response = admin_client.post(
        change_url(campaign), campaign_form(status="scheduled", **future_fields())
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.scheduled_at > timezone.now()
    assert [(c["previous"], c["current"]) for c in changes] == [("draft", "scheduled")]


def test_moving_the_time_of_a_scheduled_campaign(admin_client):
    campaign = CampaignFactory()
    campaigns.schedule(campaign, timezone.now() + timedelta(hours=2))
    admin_client.post(change_url(campaign), campaign_form(status="scheduled", **future_fields(3)))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.scheduled_at > timezone.now() + timedelta(days=2)


def test_a_scheduled_campaign_back_to_draft_goes_through_the_service(admin_client, catch_signal):
    campaign = CampaignFactory()
    campaigns.schedule(campaign, timezone.now() + timedelta(hours=2))
    changes = catch_signal(signals.campaign_state_changed)
    response = admin_client.post(change_url(campaign), campaign_form(status="draft"))
    assert response.status_code == 302
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT
    assert [(c["previous"], c["current"]) for c in changes] == [("scheduled", "draft")]


def test_a_new_campaign_scheduled_in_the_add_form(admin_client, catch_signal):
    changes = catch_signal(signals.campaign_state_changed)
    response = admin_client.post(reverse(ADD), campaign_form(status="scheduled", **future_fields()))
    assert response.status_code == 302
    assert EmailCampaign.objects.get().status == CampaignStatus.SCHEDULED
    assert len(changes) == 1


def test_no_template_and_no_subject_or_content_is_refused_on_those_fields(admin_client):
    response = admin_client.post(
        reverse(ADD), campaign_form(subject="", html_content=""), headers={"accept-language": "en"}
    )
    errors = form_errors(response)
    assert errors["subject"] == ["A campaign needs a subject."]
    assert errors["html_content"] == ["A campaign needs content."]


@pytest.mark.parametrize(
    "error",
    [
        InvalidTransition("campaign", "sending", "scheduled"),
        ValidationError("Somebody else moved it."),
    ],
)
def test_a_refused_schedule_is_an_error_message(admin_client, monkeypatch, error):
    def refuse(campaign, when):
        raise error

    monkeypatch.setattr(campaigns, "schedule", refuse)
    campaign = CampaignFactory()
    response = admin_client.post(
        change_url(campaign), campaign_form(status="scheduled", **future_fields()), follow=True
    )
    assert response.status_code == 200
    [message] = [m.message for m in response.context["messages"] if m.level == constants.ERROR]
    assert message.startswith("Primavera: ")  # the name just saved
    assert EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_the_name_of_a_sending_campaign_can_still_change(admin_client):
    campaign = CampaignFactory(status="sending")
    response = admin_client.post(change_url(campaign), {"name": "Renombrada"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.status) == ("Renombrada", CampaignStatus.SENDING)
