"""URLs without any tracking webhook (petmail.W006)."""

from django.urls import include, path

urlpatterns = [path("petmail/", include("django_petmail.urls"))]
