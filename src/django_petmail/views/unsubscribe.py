from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ..exceptions import InvalidToken
from ..forms import UnsubscribeForm
from ..links import preferences_url
from ..models import SubscriptionStatus, UnsubscribeSource
from ..subscriptions import Consent, unsubscribe
from ..tokens import Purpose, resolve_token
from .common import invalid_link, page

ONE_CLICK_BODY = "One-Click"


@csrf_exempt  # RFC 8058: mailbox providers POST without cookies or CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with a button (scanners follow links, so GET never changes state).
    POST ``List-Unsubscribe=One-Click`` (RFC 8058): unsubscribe now, answer 200.
    POST from the page's button: unsubscribe with the optional reason."""
    try:
        subscription, data = resolve_token(Purpose.UNSUBSCRIBE, token)
    except InvalidToken:
        return invalid_link(request)
    if request.method == "POST" and request.POST.get("List-Unsubscribe") == ONE_CLICK_BODY:
        unsubscribe(
            subscription,
            source=UnsubscribeSource.ONE_CLICK,
            send_id=data.send_id,
            consent=Consent.from_request(request, source=UnsubscribeSource.ONE_CLICK),
        )
        return HttpResponse("Unsubscribed.\n", content_type="text/plain; charset=utf-8")
    context = {
        "subscription": subscription,
        "preferences_url": preferences_url(subscription, data.send_id, request=request),
    }
    if request.method == "GET":
        done = subscription.status == SubscriptionStatus.UNSUBSCRIBED
        return page(
            request,
            "unsubscribed.html" if done else "unsubscribe.html",
            {**context, "form": UnsubscribeForm()},
            subscription=subscription,
        )
    if request.POST.get("confirm") != "1":
        return HttpResponseBadRequest(
            "Expected List-Unsubscribe=One-Click (RFC 8058) or the page's confirm button.\n",
            content_type="text/plain; charset=utf-8",
        )
    form = UnsubscribeForm(request.POST)
    if not form.is_valid():
        return page(
            request,
            "unsubscribe.html",
            {**context, "form": form},
            status=400,
            subscription=subscription,
        )
    unsubscribe(
        subscription,
        source=UnsubscribeSource.PAGE,
        reason=form.cleaned_data["reason"],
        send_id=data.send_id,
        consent=Consent.from_request(request, source=UnsubscribeSource.PAGE),
    )
    return page(request, "unsubscribed.html", context, subscription=subscription)
