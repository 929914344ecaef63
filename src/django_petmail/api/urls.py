from typing import Any

from django.urls import include, path
from drf_spectacular.openapi import AutoSchema
from rest_framework.routers import DefaultRouter

from .campaigns import CampaignViewSet
from .conversions import ConversionViewSet
from .delivery import EventViewSet, SendViewSet
from .imports import SubscriberExportView, SubscriberImportDetailView, SubscriberImportView
from .records import ConsentEventViewSet, SuppressionViewSet
from .schema import RedocView, SchemaView, SwaggerView
from .segments import SegmentFieldsView, SegmentPreviewView, SegmentViewSet
from .sequences import EnrollmentViewSet, SequenceViewSet, StepViewSet
from .templates import TemplateViewSet
from .views import OverviewView, SubscribeView, SubscriptionViewSet

app_name = "petmail-api"

# Endpoints outside the router, listed on the API root next to the router's: {key: url name}.
EXTRA_ROOT_ENTRIES = {
    "subscribe": "subscribe",
    "segments/fields": "segment-fields",
    "segments/preview": "segment-preview",
    "reports/overview": "reports-overview",
    "imports/subscriptions": "subscriber-import",
    "exports/subscriptions": "subscriber-export",
    "schema": "schema",
    "docs": "docs",
    "redoc": "redoc",
}


class PetmailRouter(DefaultRouter):
    """``DefaultRouter`` whose root also lists the endpoints registered outside it."""

    def get_api_root_view(self, api_urls: Any = None) -> Any:
        root = {prefix: f"{basename}-list" for prefix, _viewset, basename in self.registry}
        return self.APIRootView.as_view(api_root_dict={**root, **EXTRA_ROOT_ENTRIES})


router = PetmailRouter()
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("segments", SegmentViewSet, basename="segment")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("sequences", SequenceViewSet, basename="sequence")
router.register("steps", StepViewSet, basename="sequence-step")
router.register("enrollments", EnrollmentViewSet, basename="enrollment")
router.register("conversions", ConversionViewSet, basename="conversion")
router.register("templates", TemplateViewSet, basename="template")
router.register("sends", SendViewSet, basename="send")
router.register("events", EventViewSet, basename="event")
router.register("suppressions", SuppressionViewSet, basename="suppression")
router.register("consent", ConsentEventViewSet, basename="consent-event")

# drf-spectacular describes the package's views whatever the host's DEFAULT_SCHEMA_CLASS.
_view: Any
for _view in [
    *(viewset for _prefix, viewset, _basename in router.registry),
    SubscribeView,
    SegmentPreviewView,
    SegmentFieldsView,
    OverviewView,
    SubscriberImportView,
    SubscriberImportDetailView,
    SubscriberExportView,
]:
    _view.schema = AutoSchema()

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path("schema/docs/", SwaggerView.as_view(), name="docs"),
    path("schema/redoc/", RedocView.as_view(), name="redoc"),
    path("subscribe/", SubscribeView.as_view(), name="subscribe"),
    path("segments/preview/", SegmentPreviewView.as_view(), name="segment-preview"),
    path("segments/fields/", SegmentFieldsView.as_view(), name="segment-fields"),
    path("reports/overview/", OverviewView.as_view(), name="reports-overview"),
    path("imports/subscriptions/", SubscriberImportView.as_view(), name="subscriber-import"),
    path(
        "imports/subscriptions/<str:import_id>/",
        SubscriberImportDetailView.as_view(),
        name="subscriber-import-detail",
    ),
    path("exports/subscriptions/", SubscriberExportView.as_view(), name="subscriber-export"),
    path("", include(router.urls)),
]
