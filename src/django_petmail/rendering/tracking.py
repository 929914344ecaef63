"""First-party tracking in compiled HTML: which links a message carries, refusing links that
run code, rewriting links to click placeholders and adding the open pixel.

All of it runs once per compiled content (a mailing's variant and language), on the template
source, never per recipient: a link becomes ``{{ click_urls.3 }}`` and each message's context
supplies that message's signed URLs (``links.tracking_links``). The redirect view finds a
link's target by its position in the same compiled content, so a click URL can only lead to a
link the message really had.

Tracked: ``<a>`` and ``<area>`` links whose ``href`` is a literal ``http(s)://`` URL. Not
tracked: links built with template syntax (the unsubscribe, preferences and view-online links,
and any personalized URL), ``mailto:``/``tel:``, anchors and relative links, and a link marked
``data-petmail-notrack``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

from django.utils.translation import gettext

from ..exceptions import TemplateError

#: Context names the tracking placeholders read (supplied per message, or by ``render``).
CLICK_URLS = "click_urls"
OPEN_PIXEL_URL = "open_pixel_url"
TRACKING_TOKENS = frozenset({CLICK_URLS, OPEN_PIXEL_URL})

#: Schemes a link may not use: they run code or carry a document instead of going somewhere.
UNSAFE_SCHEMES = ("javascript:", "data:", "vbscript:")

# A start tag with quoted attribute values (a '>' inside quotes does not end it).
_LINK_TAG = re.compile(r"<(?:a|area)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(
    r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""", re.IGNORECASE
)
_TAG_NAME = re.compile(r"<\w+")
_TEMPLATE_SYNTAX = ("{{", "{%", "{#")
# Browsers ignore ASCII whitespace and control characters inside a URL's scheme.
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f]+")
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)

TAG_MAX_LENGTH = 100  # EmailEvent.link_tag

PIXEL_HTML = (
    "{% if open_pixel_url %}"
    '<img src="{{ open_pixel_url }}" width="1" height="1" alt="" '
    'style="display:block;width:1px;height:1px;border:0;">'
    "{% endif %}"
)


@dataclass(frozen=True)
class TrackedLink:
    """A link of the compiled content: its position, target and tag (``data-tag``, else
    ``title``, else its position)."""

    index: int
    url: str
    tag: str


def _attributes(tag: str) -> tuple[dict[str, str], re.Match[str] | None]:
    """A start tag's attributes (first of each name, entities decoded) and the ``href``
    match, whose value group 2, 3 or 4 spans the raw value in ``tag``."""
    found: dict[str, str] = {}
    href = None
    name_end = _TAG_NAME.match(tag)
    for match in _ATTRIBUTE.finditer(tag, name_end.end() if name_end else 0, len(tag) - 1):
        name = match.group(1).lower()
        if name in found:
            continue
        found[name] = unescape(_value(match))
        if name == "href":
            href = match
    return found, href


def _value(match: re.Match[str]) -> str:
    return match.group(2) or match.group(3) or match.group(4) or ""


def _scheme_of(href: str) -> str:
    return _IGNORED_IN_SCHEME.sub("", unescape(href)).lower()


def unsafe_link_error(source: str) -> str | None:
    """Why ``source`` (HTML template source) may not be saved, or ``None``: a link whose
    ``href`` uses ``javascript:``, ``data:`` or ``vbscript:``."""
    for match in _LINK_TAG.finditer(source or ""):
        _, href = _attributes(match.group())
        if href is None:
            continue
        value = _scheme_of(_value(href))
        scheme = next((s for s in UNSAFE_SCHEMES if value.startswith(s)), None)
        if scheme is not None:
            line = source.count("\n", 0, match.start()) + 1
            return gettext(
                "line %(line)s: links may not use %(scheme)s; link to a web page (https://…)"
            ) % {"line": line, "scheme": scheme}
    return None


def check_links(source: str) -> None:
    """Raise :class:`TemplateError` for a link that runs code (see :func:`unsafe_link_error`)."""
    error = unsafe_link_error(source)
    if error:
        raise TemplateError(error)


def _trackable(href: str, attributes: dict[str, str]) -> str | None:
    """The link's target when it is tracked, else ``None``."""
    if any(marker in href for marker in _TEMPLATE_SYNTAX) or "data-petmail-notrack" in attributes:
        return None
    url = unescape(href).strip()
    if not url.lower().startswith(("http://", "https://")):
        return None
    return url


def track_links(source: str, *, rewrite: bool) -> tuple[str, tuple[TrackedLink, ...]]:
    """The tracked links of ``source`` in order; with ``rewrite``, ``source`` with each one's
    ``href`` replaced by its ``click_urls`` placeholder. The list is the same either way, so
    a click recorded after tracking was switched off still finds its link."""
    links: list[TrackedLink] = []
    parts: list[str] = []
    position = 0
    for match in _LINK_TAG.finditer(source):
        tag = match.group()
        attributes, href = _attributes(tag)
        if href is None:
            continue
        url = _trackable(_value(href), attributes)
        if url is None:
            continue
        index = len(links)
        label = attributes.get("data-tag") or attributes.get("title") or str(index)
        links.append(TrackedLink(index, url, " ".join(label.split())[:TAG_MAX_LENGTH]))
        if rewrite:
            parts.append(source[position : match.start() + href.start()])
            parts.append(f'href="{{{{ {CLICK_URLS}.{index} }}}}"')
            position = match.start() + href.end()
    if not rewrite or not links:
        return source, tuple(links)
    parts.append(source[position:])
    return "".join(parts), tuple(links)


def add_pixel(source: str) -> str:
    """``source`` with the open pixel before its last ``</body>`` (else at its end)."""
    ends = list(_BODY_END.finditer(source))
    if not ends:
        return source + PIXEL_HTML
    at = ends[-1].start()
    return source[:at] + PIXEL_HTML + source[at:]
