from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .campaigns import CampaignViewSet
from .conversions import ConversionViewSet
from .imports import SubscriberExportView, SubscriberImportDetailView, SubscriberImportView
from .segments import SegmentFieldsView, SegmentPreviewView, SegmentViewSet
from .sequences import EnrollmentViewSet, SequenceViewSet, StepViewSet
from .views import OverviewView, SubscribeView, SubscriptionViewSet

app_name = "petmail-api"

router = DefaultRouter()
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("segments", SegmentViewSet, basename="segment")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("sequences", SequenceViewSet, basename="sequence")
router.register("steps", StepViewSet, basename="sequence-step")
router.register("enrollments", EnrollmentViewSet, basename="enrollment")
router.register("conversions", ConversionViewSet, basename="conversion")

urlpatterns = [
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
