from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_GET

from ..exceptions import InvalidToken, TemplateError
from ..models import EmailSend
from ..rendering import build_contexts
from ..sending.dispatch import Renderer, recipient_context
from ..sending.mailing import mailing_of
from ..tokens import Purpose, resolve_token
from .common import invalid_link


@require_GET
def view_online_view(request: HttpRequest, token: str) -> HttpResponse:
    """The message a subscriber received, as a web page (the "view in browser" link)."""
    try:
        subscription, data = resolve_token(Purpose.VIEW, token)
    except InvalidToken:
        return invalid_link(request)
    if data.send_id is None:
        return invalid_link(request, status=404)
    send = (
        EmailSend.objects.select_related("campaign__template", "sequence_step__template")
        .filter(pk=data.send_id, subscription=subscription)
        .first()
    )
    mailing = mailing_of(send) if send is not None else None
    if send is None or mailing is None:
        return invalid_link(request, status=404)
    context = recipient_context(
        subscription, send.pk, build_contexts([subscription]).get(subscription.pk, {})
    )
    context.update(mailing.recipient_extras([send.pk]).get(send.pk, {}))
    try:
        content = Renderer(mailing).content(send.ab_variant, subscription.language)
        with translation.override(subscription.language or None):
            html = content.render(context).html
    except TemplateError:
        return invalid_link(request, status=404)
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
