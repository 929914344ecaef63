"""The admin's "Send a test" action: a page with the staff user's address filled in, up to
20 addresses, sent by ``campaigns.send_test`` with inert personal links."""

import pytest
from django.contrib.messages import constants
from django.core import mail
from django.urls import reverse

from django_petmail.models import EmailCampaign, EmailSend
from tests.factories import CampaignFactory, SubscriptionFactory
from tests.test_admin_campaigns import CHANGELIST

pytestmark = pytest.mark.django_db

EN = {"accept-language": "en"}


def post(client, campaigns, **extra):
    data = {"action": "send_test_selected", "_selected_action": [c.pk for c in campaigns]}
    data.update(extra)
    return client.post(reverse(CHANGELIST), data, follow=True, headers=EN)


def messages_of(response):
    return [(m.level, m.message) for m in response.context["messages"]]


def test_the_page_offers_the_staff_users_address(admin_client, admin_user):
    campaign = CampaignFactory()
    response = post(admin_client, [campaign])
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["emails"] == admin_user.email
    assert "inert" in response.content.decode()
    assert mail.outbox == []


def test_sending_to_a_list_uses_safe_links(admin_client):
    SubscriptionFactory()
    campaign = CampaignFactory(html_content="<p>{{ first_name }} {{ unsubscribe_url }}</p>")
    response = post(
        admin_client,
        [campaign],
        post="yes",
        emails="a@clinic.example, b@clinic.example",
        variant="A",
    )
    assert messages_of(response) == [(constants.SUCCESS, f"{campaign}: 2 test messages sent.")]
    assert sorted(m.to[0] for m in mail.outbox) == ["a@clinic.example", "b@clinic.example"]
    assert all(m.subject.startswith("[TEST] ") for m in mail.outbox)
    html = mail.outbox[0].alternatives[0][0]
    assert "https://clinic.test/#petmail-test-send" in html  # not the subscriber's real link
    assert "/petmail/unsubscribe/" not in html
    assert not EmailSend.objects.exists()


@pytest.mark.parametrize(
    "emails",
    ["", " , ", "not-an-address", ", ".join(f"t{n}@clinic.example" for n in range(21))],
)
def test_bad_addresses_are_shown_on_the_form(admin_client, emails):
    campaign = CampaignFactory()
    response = post(admin_client, [campaign], post="yes", emails=emails, variant="A")
    assert response.status_code == 200
    assert "emails" in response.context["form"].errors
    assert mail.outbox == []


def test_a_campaign_that_is_not_ready_is_an_error_message(admin_client):
    campaign = CampaignFactory()
    EmailCampaign.objects.filter(pk=campaign.pk).update(subject="")
    response = post(admin_client, [campaign], post="yes", emails="a@clinic.example", variant="A")
    [(level, message)] = messages_of(response)
    assert level == constants.ERROR
    assert "subject: A campaign needs a subject." in message
    assert mail.outbox == []


def test_one_campaign_at_a_time(admin_client):
    response = post(admin_client, [CampaignFactory(), CampaignFactory()])
    assert messages_of(response) == [(constants.ERROR, "Choose one campaign to test.")]
