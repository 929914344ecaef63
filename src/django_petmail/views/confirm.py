from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ..exceptions import ExpiredToken, InvalidToken
from ..forms import ResendForm
from ..links import preferences_url
from ..models import SubscriptionStatus
from ..subscriptions import ConfirmOutcome, Consent, confirm, subscribe
from ..tokens import Purpose, resolve_token
from .common import invalid_link, ip_allowed, page, rate_limited


@csrf_exempt  # the signed token in the URL is the credential
@require_http_methods(["GET", "POST"])
def confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button, POST confirms.

    Mail scanners open every link in a message; confirming on GET would let a scanner give
    consent on the subscriber's behalf, so only the button (a POST) confirms.
    """
    try:
        subscription, _data = resolve_token(Purpose.CONFIRM, token)
    except ExpiredToken:
        return page(
            request, "confirm_expired.html", {"form": ResendForm({"token": token})}, status=410
        )
    except InvalidToken:
        return invalid_link(request)
    context = {"subscription": subscription, "token": token}
    if request.method == "GET":
        if subscription.status == SubscriptionStatus.ACTIVE:
            return page(
                request,
                "confirmed.html",
                {
                    **context,
                    "already": True,
                    "preferences_url": preferences_url(subscription, request=request),
                },
                subscription=subscription,
            )
        if subscription.status != SubscriptionStatus.PENDING:
            return invalid_link(request)
        return page(request, "confirm.html", context, subscription=subscription)
    outcome = confirm(
        subscription, Consent.from_request(request, source="confirm_link"), request=request
    )
    if outcome is ConfirmOutcome.NOT_PENDING:
        return invalid_link(request)
    return page(
        request,
        "confirmed.html",
        {
            **context,
            "already": outcome is ConfirmOutcome.ALREADY_CONFIRMED,
            "preferences_url": preferences_url(subscription, request=request),
        },
        subscription=subscription,
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def resend_confirmation_view(request: HttpRequest) -> HttpResponse:
    """Send a fresh confirmation link for an expired one (same answer whatever happens).

    The form posts here from the expired-link page; a GET (a bookmark, a reload) goes to the
    subscribe form instead of a blank 405."""
    if request.method == "GET":
        return HttpResponseRedirect(reverse("petmail:subscribe"))
    if not ip_allowed(request):
        return rate_limited(request)
    form = ResendForm(request.POST)
    if not form.is_valid():
        return invalid_link(request)
    try:
        subscription, _data = resolve_token(
            Purpose.CONFIRM, form.cleaned_data["token"], allow_expired=True
        )
    except InvalidToken:
        return invalid_link(request)
    if subscription.status == SubscriptionStatus.PENDING:
        subscribe(
            subscription.email,
            consent=Consent.from_request(request, source="resend"),
            request=request,
        )
    return HttpResponseRedirect(reverse("petmail:subscribe_done"), status=303)
