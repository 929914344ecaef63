"""The clinic's URLs plus django-newsletter's (its messages link to its own pages)."""

from django.urls import include, path

from petclinic.urls import urlpatterns as clinic_urlpatterns

urlpatterns = [*clinic_urlpatterns, path("newsletter/", include("newsletter.urls"))]
