"""Who may use the API: staff within their Django model permissions (a clinic gives a
marketer a group), token authentication for servers, and the throttled public sign-up."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import CampaignFactory, SubscriptionFactory, TemplateFactory

pytestmark = pytest.mark.django_db

LISTS = [
    ("subscriptions", "newslettersubscription"),
    ("segments", "customersegment"),
    ("campaigns", "emailcampaign"),
    ("sequences", "automatedsequence"),
    ("steps", "sequencestep"),
    ("enrollments", "sequenceenrollment"),
    ("conversions", "conversion"),
    ("templates", "emailtemplate"),
    ("sends", "emailsend"),
    ("events", "emailevent"),
    ("suppressions", "suppression"),
    ("consent", "consentevent"),
    ("segments/fields", "customersegment"),
    ("reports/overview", "emailcampaign"),
]


@pytest.fixture
def marketer(django_user_model):
    """A staff user who is not a superuser, in a group with no permission yet."""
    user = django_user_model._default_manager.create(
        **{django_user_model.USERNAME_FIELD: "marketer@example.com"}, is_staff=True
    )
    group = Group.objects.create(name="Marketing")
    user.groups.add(group)
    return user


def grant(user, *codenames):
    group = user.groups.get()
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="django_petmail", codename__in=codenames)
    )


def client_for(user):
    client = APIClient()  # a fresh user object: Django caches permissions on the instance
    client.force_authenticate(type(user)._default_manager.get(pk=user.pk))
    return client


@pytest.mark.parametrize(("path", "model"), LISTS)
def test_staff_need_the_models_view_permission(marketer, path, model):
    url = f"/petmail/api/{path}/"
    assert client_for(marketer).get(url).status_code == 403
    grant(marketer, f"view_{model}")
    response = client_for(marketer).get(url)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(("path", "_model"), LISTS)
def test_non_staff_and_anonymous_are_refused(non_staff_api, anonymous_api, path, _model):
    url = f"/petmail/api/{path}/"
    assert non_staff_api.get(url).status_code == 403
    assert anonymous_api.get(url).status_code in (401, 403)


def test_creating_needs_the_add_permission(marketer):
    body = {"name": "T", "slug": "t", "subject": "Hola", "html_content": "<p>Hola</p>"}
    grant(marketer, "view_emailtemplate")
    assert (
        client_for(marketer).post("/petmail/api/templates/", body, format="json").status_code == 403
    )
    grant(marketer, "add_emailtemplate")
    assert (
        client_for(marketer).post("/petmail/api/templates/", body, format="json").status_code == 201
    )


def test_lifecycle_actions_need_the_change_permission(marketer):
    campaign = CampaignFactory()
    url = f"/petmail/api/campaigns/{campaign.pk}/pause/"
    grant(marketer, "view_emailcampaign", "add_emailcampaign")
    assert client_for(marketer).post(url).status_code == 403
    assert (
        client_for(marketer).get(f"/petmail/api/campaigns/{campaign.pk}/progress/").status_code
        == 200
    )
    grant(marketer, "change_emailcampaign")
    response = client_for(marketer).post(url)
    assert response.status_code == 409  # a draft cannot be paused: the permission let it through
    assert response.json()["status"] == "draft"


def test_erasing_a_subscriber_needs_the_delete_permission(marketer):
    subscription = SubscriptionFactory()
    url = f"/petmail/api/subscriptions/{subscription.pk}/erase/"
    grant(marketer, "view_newslettersubscription", "change_newslettersubscription")
    assert client_for(marketer).post(url).status_code == 403
    grant(marketer, "delete_newslettersubscription")
    assert client_for(marketer).post(url).status_code == 200


def test_segment_preview_needs_the_segment_view_permission(marketer):
    url = "/petmail/api/segments/preview/"
    body = {"rules": {}}
    assert client_for(marketer).post(url, body, format="json").status_code == 403
    grant(marketer, "view_customersegment")
    assert client_for(marketer).post(url, body, format="json").status_code == 200


def test_token_authentication_for_servers(marketer):
    grant(marketer, "view_emailtemplate")
    TemplateFactory()
    token = Token.objects.create(user=marketer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/petmail/api/templates/").json()["count"] == 1
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/petmail/api/templates/").status_code in (401, 403)


@override_settings(REST_FRAMEWORK={"DEFAULT_THROTTLE_RATES": {"petmail_subscribe": "2/minute"}})
def test_public_sign_up_is_throttled(anonymous_api):
    url = "/petmail/api/subscribe/"
    for n in range(2):
        response = anonymous_api.post(url, {"email": f"t{n}@example.com"}, format="json")
        assert response.status_code == 202
    response = anonymous_api.post(url, {"email": "t9@example.com"}, format="json")
    assert response.status_code == 429
    assert "Retry-After" in response.headers


def test_public_sign_up_throttle_has_a_default_rate(anonymous_api):
    statuses = [
        anonymous_api.post(
            "/petmail/api/subscribe/", {"email": f"d{n}@example.com"}, format="json"
        ).status_code
        for n in range(11)
    ]
    assert statuses[-1] == 429
