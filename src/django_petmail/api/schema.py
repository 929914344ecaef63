"""The API's OpenAPI 3 description (drf-spectacular) and its Swagger UI and ReDoc pages,
served from the vendored assets of ``drf-spectacular-sidecar`` (no CDN).

The package's views carry drf-spectacular's ``AutoSchema`` (set in ``urls.py``) whatever the host's
``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``, and the schema lists only the package's endpoints,
so a host's own DRF views neither break nor join it.
"""

from __future__ import annotations

from typing import Any

from django.templatetags.static import static
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from .. import __version__

TITLE = "django-petmail API"

SCHEMA_SETTINGS: dict[str, Any] = {
    "TITLE": TITLE,
    "DESCRIPTION": (
        "Subscriptions, segments, campaigns, sequences, templates, sends, events, suppressions "
        "and reports of django-petmail. Staff authenticate with a session or a token and act "
        "within their Django model permissions; `subscribe/` is public and throttled."
    ),
    "VERSION": __version__,
    "PREPROCESSING_HOOKS": ["django_petmail.api.schema.petmail_endpoints"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"ABVariantEnum": "django_petmail.models.ABVariant"},
}


def petmail_endpoints(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    """Preprocessing hook: keep only the package's own API views."""
    return [
        endpoint
        for endpoint in endpoints
        if getattr(endpoint[3], "cls", type(None)).__module__.startswith("django_petmail.api.")
    ]


def _sidecar(path: str) -> str:
    return static(f"drf_spectacular_sidecar/{path}")


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 document (YAML, or JSON with ``?format=json``)."""

    schema = None  # not an operation of the API it describes

    custom_settings = SCHEMA_SETTINGS


class SwaggerView(SpectacularSwaggerView):
    """Swagger UI over the schema, from the vendored sidecar assets."""

    schema = None  # not an operation of the API it describes

    url_name = "petmail-api:schema"
    title = TITLE

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return _sidecar(f"swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return _sidecar("swagger-ui-dist/favicon-32x32.png")


class RedocView(SpectacularRedocView):
    """ReDoc over the schema, from the vendored sidecar assets."""

    schema = None  # not an operation of the API it describes

    url_name = "petmail-api:schema"
    title = TITLE

    @staticmethod
    def _redoc_standalone() -> str:
        return _sidecar("redoc/bundles/redoc.standalone.js")


CONFLICT = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description="The current state does not allow this move: `detail` says why, `status` "
    "names the state.",
    examples=[
        OpenApiExample(
            "Wrong state", value={"detail": "Cannot pause a draft campaign.", "status": "draft"}
        )
    ],
)
BAD_REQUEST = OpenApiResponse(
    response=OpenApiTypes.OBJECT, description="Invalid input: the errors are keyed by field."
)


def _described(**kwargs: Any) -> Any:
    """``extend_schema`` built on drf-spectacular's ``AutoSchema`` even when the host's
    ``DEFAULT_SCHEMA_CLASS`` is DRF's (``extend_schema`` falls back to that setting)."""
    decorate = extend_schema(**kwargs)

    def apply(function: Any) -> Any:
        if not hasattr(function, "kwargs"):
            function.kwargs = {}
        function.kwargs.setdefault("schema", AutoSchema)
        return decorate(function)

    return apply


def move(response: Any, request: Any = None, description: str = "") -> Any:
    """``extend_schema`` for a lifecycle action: its body, 200 with the object, 400 and 409."""
    return _described(
        request=request,
        responses={200: response, 400: BAD_REQUEST, 409: CONFLICT},
        description=description,
    )


def document(description: str, **kwargs: Any) -> Any:
    """``extend_schema`` for a custom read or action that answers a JSON object."""
    kwargs.setdefault("responses", {200: OpenApiTypes.OBJECT, 400: BAD_REQUEST})
    kwargs.setdefault("request", None)
    return _described(description=description, **kwargs)


SUBSCRIPTION_PARAMETER = OpenApiParameter(
    "subscription", int, description="Render for this subscription (default: a sample one)."
)
