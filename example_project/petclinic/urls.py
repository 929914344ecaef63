from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # the package's SES tracking view first: it refuses unreadable payloads with a 400
    path("anymail/", include("django_petmail.tracking.urls")),
    path("anymail/", include("anymail.urls")),
    path("petmail/api/", include("django_petmail.api.urls")),
    path("petmail/", include("django_petmail.urls")),
]
