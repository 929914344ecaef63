"""Bad input to the API is a 4xx naming the problem, never a 500."""

import pytest
from django.utils import translation

from tests.factories import CampaignFactory, SegmentFactory, SequenceFactory, TemplateFactory

pytestmark = pytest.mark.django_db


def writable(api_objects):
    campaign, segment, sequence, template = api_objects
    return [
        ("post", "/petmail/api/campaigns/"),
        ("patch", f"/petmail/api/campaigns/{campaign.pk}/"),
        ("post", f"/petmail/api/campaigns/{campaign.pk}/schedule/"),
        ("post", f"/petmail/api/campaigns/{campaign.pk}/send-test/"),
        ("post", "/petmail/api/segments/"),
        ("post", "/petmail/api/segments/preview/"),
        ("patch", f"/petmail/api/segments/{segment.pk}/"),
        ("post", "/petmail/api/sequences/"),
        ("post", f"/petmail/api/sequences/{sequence.pk}/enroll-segment/"),
        ("post", "/petmail/api/templates/"),
        ("patch", f"/petmail/api/templates/{template.pk}/"),
        ("post", "/petmail/api/suppressions/"),
    ]


@pytest.fixture
def api_objects():
    return CampaignFactory(), SegmentFactory(), SequenceFactory(), TemplateFactory()


def test_malformed_json_is_400(api, api_objects):
    for method, url in writable(api_objects):
        response = getattr(api, method)(url, '{"name": ', content_type="application/json")
        assert response.status_code == 400, (url, response.content)
        assert "detail" in response.json()


def test_a_json_list_instead_of_an_object_is_400(api, api_objects):
    for method, url in writable(api_objects):
        response = getattr(api, method)(url, [1, 2], format="json")
        assert response.status_code == 400, (url, response.content)


def test_unknown_fields_are_400_naming_them(api, api_objects):
    for method, url in writable(api_objects):
        response = getattr(api, method)(url, {"no_such_field": 1}, format="json")
        assert response.status_code == 400, (url, response.content)
        assert "no_such_field" in response.json(), url


def test_public_sign_up_refuses_unknown_fields(anonymous_api):
    response = anonymous_api.post(
        "/petmail/api/subscribe/", {"email": "a@example.com", "emial": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "emial" in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ["list"], "subject": "x", "html_content": "<p>x</p>"}, "name"),
        ({"name": "x", "subject": "x", "html_content": "<p>x</p>", "segment": "one"}, "segment"),
        (
            {"name": "x", "subject": "x", "html_content": "<p>x</p>", "is_important": "maybe"},
            "is_important",
        ),
        ({"name": "x", "subject": "x", "html_content": "<p>x</p>", "segment": 2**70}, "segment"),
    ],
)
def test_wrong_types_are_400_naming_the_field(api, body, field):
    response = api.post("/petmail/api/campaigns/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_wrong_types_in_action_bodies(api, api_objects):
    campaign, _segment, sequence, _template = api_objects
    cases = [
        (
            f"/petmail/api/campaigns/{campaign.pk}/schedule/",
            {"scheduled_at": "soon"},
            "scheduled_at",
        ),
        (f"/petmail/api/campaigns/{campaign.pk}/send-test/", {"emails": "a@example.com"}, "emails"),
        (f"/petmail/api/campaigns/{campaign.pk}/winner/", {"winner": "C"}, "winner"),
        (f"/petmail/api/sequences/{sequence.pk}/enroll-segment/", {"segment": "x"}, "segment"),
        ("/petmail/api/segments/preview/", {"rules": {}, "sample_size": "many"}, "sample_size"),
    ]
    for url, body, field in cases:
        response = api.post(url, body, format="json")
        assert response.status_code == 400, (url, response.content)
        assert field in response.json(), url


def test_invalid_transition_is_409_with_a_message(api):
    campaign = CampaignFactory()
    with translation.override("en"):
        response = api.post(f"/petmail/api/campaigns/{campaign.pk}/resume/")
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "draft"
    assert body["detail"]


def test_unknown_ids_in_the_url_are_404(api):
    for url in (
        "/petmail/api/campaigns/999999/",
        "/petmail/api/campaigns/99999999999999999999999/",
        "/petmail/api/templates/999/preview/",
        "/petmail/api/sends/999/",
        "/petmail/api/suppressions/nobody@example.com/",
    ):
        assert api.get(url).status_code == 404, url


@pytest.mark.parametrize(
    "url",
    [
        "/petmail/api/campaigns/?segment=99999999999999999999999",
        "/petmail/api/campaigns/?template=x",
        "/petmail/api/campaigns/?status=nope",
        "/petmail/api/sequences/?is_active=maybe",
        "/petmail/api/steps/?sequence=-1",
        "/petmail/api/enrollments/?subscription=99999999999999999999999",
        "/petmail/api/sends/?ordering=email_address",
    ],
)
def test_bad_filter_values_are_400_or_ignored_never_500(api, url):
    assert api.get(url).status_code in (200, 400)
