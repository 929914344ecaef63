"""The API's OpenAPI schema, its Swagger UI and ReDoc pages, and the root's endpoint list."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_schema_is_served_and_lists_the_package_endpoints(anonymous_api):
    response = anonymous_api.get(reverse("petmail-api:schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "django-petmail API"
    paths = schema["paths"]
    for path in (
        "/petmail/api/subscribe/",
        "/petmail/api/segments/fields/",
        "/petmail/api/segments/preview/",
        "/petmail/api/reports/overview/",
        "/petmail/api/campaigns/{id}/start/",
    ):
        assert path in paths
    start = paths["/petmail/api/campaigns/{id}/start/"]["post"]
    assert "requestBody" not in start
    assert {"200", "400", "409"} <= set(start["responses"])
    assert "/petmail/api/schema/" not in paths


def test_schema_generates_without_warnings():
    out = io.StringIO()
    call_command(
        "spectacular",
        "--fail-on-warn",
        "--custom-settings",
        "django_petmail.api.schema.SCHEMA_SETTINGS",
        stdout=out,
    )
    assert "/petmail/api/subscribe/" in out.getvalue()


@pytest.mark.parametrize(
    ("name", "asset"),
    [
        ("petmail-api:docs", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
        ("petmail-api:redoc", "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
    ],
)
def test_documentation_pages_use_vendored_assets(client, name, asset):
    response = client.get(reverse(name))
    assert response.status_code == 200
    page = response.content.decode()
    assert asset in page
    assert "cdn.jsdelivr.net" not in page
    assert reverse("petmail-api:schema") in page


def test_root_lists_every_endpoint(api):
    listed = api.get(reverse("petmail-api:api-root")).json()
    for key in (
        "subscriptions",
        "campaigns",
        "subscribe",
        "segments/fields",
        "segments/preview",
        "reports/overview",
        "schema",
        "docs",
        "redoc",
    ):
        assert key in listed
    assert listed["subscribe"].endswith("/petmail/api/subscribe/")
