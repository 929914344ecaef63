"""Tracking webhooks to mount under the same prefix as ``anymail.urls``, *before* it:

    path("anymail/", include("django_petmail.tracking.urls")),
    path("anymail/", include("anymail.urls")),

so ``/anymail/amazon_ses/tracking/`` is served by the view that refuses unreadable payloads
with a 400 (see :mod:`django_petmail.tracking.webhooks`).
"""

from django.urls import path

from .webhooks import SESTrackingWebhookView

urlpatterns = [
    path(
        "amazon_ses/tracking/",
        SESTrackingWebhookView.as_view(),
        name="petmail_amazon_ses_tracking_webhook",
    ),
]
