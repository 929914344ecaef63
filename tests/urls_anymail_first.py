"""URLs with anymail's webhooks mounted before the package's (a mistake petmail.W006 finds)."""

from django.urls import include, path

urlpatterns = [
    path("anymail/", include("anymail.urls")),
    path("anymail/", include("django_petmail.tracking.urls")),
    path("petmail/", include("django_petmail.urls")),
]
