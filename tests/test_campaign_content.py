"""A campaign's content: variant B's own text part, previews for a chosen subscriber, and
content locked once sending starts."""

import pytest

from django_petmail import campaigns
from tests.factories import CampaignFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_variant_b_text_is_derived_from_its_own_content():
    sub = SubscriptionFactory(first_name="Ana")
    campaign = CampaignFactory(
        html_content="<p>Contenido A</p>",
        text_content="Texto A",
        is_ab_test=True,
        ab_subject_b="Asunto B",
        ab_html_content_b="<p>Contenido B</p>",
    )
    preview_b = campaigns.preview(campaign, subscription=sub, variant="B")
    assert "Contenido B" in preview_b["text"]
    assert "Texto A" not in preview_b["text"]
    assert "Texto A" in campaigns.preview(campaign, subscription=sub)["text"]


def test_api_preview_with_a_chosen_subscriber(api):
    chosen = SubscriptionFactory(first_name="Elegida")
    SubscriptionFactory(first_name="Otra")
    campaign = CampaignFactory(subject="Hola {{ first_name }}")
    url = f"/petmail/api/campaigns/{campaign.pk}/preview/"
    assert api.get(url, {"subscription": chosen.pk}).json()["subject"] == "Hola Elegida"
    for bad in ("999999", "abc", "-1"):
        response = api.get(url, {"subscription": bad})
        assert response.status_code == 400
        assert "subscription" in response.json()


def test_admin_locks_the_content_of_a_sending_campaign(admin_client, subs):
    campaign = CampaignFactory(subject="Original")
    campaigns.start(campaign, enqueue=False)
    url = f"/admin/django_petmail/emailcampaign/{campaign.pk}/change/"
    response = admin_client.get(url)
    assert response.status_code == 200
    assert 'name="subject"' not in response.content.decode()
    admin_client.post(url, {"name": campaign.name, "subject": "Changed"})
    campaign.refresh_from_db()
    assert campaign.subject == "Original"
