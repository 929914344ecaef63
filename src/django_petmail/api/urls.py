from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .views import SubscribeView, SubscriptionViewSet

app_name = "petmail-api"

router = DefaultRouter()
router.register("subscriptions", SubscriptionViewSet, basename="subscription")

urlpatterns = [
    path("subscribe/", SubscribeView.as_view(), name="subscribe"),
    path("", include(router.urls)),
]
