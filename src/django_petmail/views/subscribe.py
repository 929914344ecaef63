from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ..forms import SubscribeForm
from ..subscriptions import Consent, subscribe
from .common import ip_allowed, page, rate_limited


@require_http_methods(["GET", "POST"])
def subscribe_view(request: HttpRequest) -> HttpResponse:
    """Double opt-in sign-up. Every accepted submission answers the same way, whatever the
    address's state, so the page cannot be used to learn who is subscribed."""
    if request.method == "GET":
        return page(request, "subscribe.html", {"form": SubscribeForm()})
    if not ip_allowed(request):
        return rate_limited(request)
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return page(request, "subscribe.html", {"form": form}, status=400)
    data = form.cleaned_data
    subscribe(
        data["email"],
        first_name=data["first_name"],
        topics=data["topics"],
        frequency=data["frequency"],
        language=data["language"],
        consent=Consent.from_request(request, source=data["source"] or "website"),
        request=request,
    )
    return HttpResponseRedirect(reverse("petmail:subscribe_done"), status=303)


def subscribe_done_view(request: HttpRequest) -> HttpResponse:
    return page(request, "subscribe_done.html")
