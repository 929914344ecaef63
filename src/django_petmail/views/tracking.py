"""First-party tracking: the open pixel and the click redirects.

A click URL names a send and a link position, signed together with the link's target; the
target is read from the send's own compiled content, never from the URL, so the redirect can
only lead where the message led (no open redirect). Anything that does not check out — a
tampered token, a send that is gone, a position the content does not have — is a 404 with no
``Location``.
"""

from __future__ import annotations

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_safe

from ..exceptions import InvalidToken, TemplateError
from ..models import EmailSend
from ..rendering.tracking import TrackedLink
from ..sending.dispatch import Renderer
from ..sending.mailing import mailing_of
from ..tokens import ClickToken, read_click_token, read_open_token
from ..tracking.firstparty import client_address, record_click, record_open
from .common import invalid_link

#: A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _agent(request: HttpRequest) -> str:
    return str(request.META.get("HTTP_USER_AGENT", ""))


def _ip(request: HttpRequest) -> str | None:
    return client_address(request.META.get("REMOTE_ADDR"))


def _head(request: HttpRequest) -> bool:
    # a HEAD request fetches nothing to show: a scanner or a prefetcher
    return request.method == "HEAD"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def open_pixel_view(request: HttpRequest, token: str) -> HttpResponse:
    """The open pixel: records an open of the send and answers a transparent GIF."""
    try:
        send_id = read_open_token(token)
    except InvalidToken:
        raise Http404 from None
    send = EmailSend.objects.filter(pk=send_id).first()
    if send is None:
        raise Http404
    record_open(send, ip=_ip(request), user_agent=_agent(request), machine=_head(request))
    return _no_store(HttpResponse(PIXEL, content_type="image/gif"))


@require_safe
def click_view(request: HttpRequest, token: str) -> HttpResponse:
    """A tracked link: records the click and redirects to the link's target."""
    try:
        click = read_click_token(token)
    except InvalidToken:
        return invalid_link(request, status=404)
    send = (
        EmailSend.objects.select_related(
            "subscription", "campaign__template", "sequence_step__template"
        )
        .filter(pk=click.send_id)
        .first()
    )
    link = _link(send, click) if send is not None else None
    if send is None or link is None:
        return invalid_link(request, status=404)
    record_click(
        send,
        url=link.url,
        tag=link.tag,
        ip=_ip(request),
        user_agent=_agent(request),
        machine=_head(request),
    )
    return _no_store(HttpResponseRedirect(link.url))


def _link(send: EmailSend, click: ClickToken) -> TrackedLink | None:
    """The link ``click`` was made for, from the send's compiled content: at its position,
    or — if the content was edited since (a sequence step) — the link whose target the
    token was signed with."""
    mailing = mailing_of(send)
    if mailing is None:
        return None
    language = send.subscription.language if send.subscription is not None else ""
    try:
        links = Renderer(mailing).content(send.ab_variant, language).links
    except TemplateError:
        return None
    if click.index < len(links) and click.signs(click.index, links[click.index].url):
        return links[click.index]
    return next((link for link in links if click.signs(click.index, link.url)), None)
