from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ..exceptions import InvalidToken
from ..forms import PreferencesForm
from ..links import unsubscribe_url
from ..subscriptions import Consent, update_preferences
from ..tokens import Purpose, resolve_token
from .common import invalid_link, page


@csrf_exempt  # the signed token in the URL is the credential; no login, no cookies
@require_http_methods(["GET", "POST"])
def preferences_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscription, data = resolve_token(Purpose.PREFERENCES, token)
    except InvalidToken:
        return invalid_link(request)
    initial = {
        "frequency": subscription.frequency,
        "topics": subscription.topics,
        "language": subscription.language,
        "is_paused": subscription.is_paused,
    }
    saved = False
    status = 200
    if request.method == "POST":
        form = PreferencesForm(request.POST, initial=initial)
        if form.is_valid():
            update_preferences(
                subscription,
                Consent.from_request(request, source="preference_center"),
                **{name: form.cleaned_data[name] for name in initial},
            )
            saved = True
            form = PreferencesForm(initial={name: getattr(subscription, name) for name in initial})
        else:
            status = 400
    else:
        form = PreferencesForm(initial=initial)
    return page(
        request,
        "preferences.html",
        {
            "form": form,
            "saved": saved,
            "subscription": subscription,
            "unsubscribe_url": unsubscribe_url(subscription, data.send_id, request=request),
        },
        status=status,
        subscription=subscription,
    )
