"""The clinic's URLs plus django-newsletter's (its messages link to its own pages) and the
webhook benchmark's floors (``bench/views.py``)."""

from django.urls import include, path

from bench.views import bare_webhook, ledger_webhook
from petclinic.urls import urlpatterns as clinic_urlpatterns

urlpatterns = [
    *clinic_urlpatterns,
    path("newsletter/", include("newsletter.urls")),
    path("bench/webhook/", bare_webhook),
    path("bench/webhook-ledger/", ledger_webhook),
]
