"""Campaign and step content → compiled templates (once) → one message's parts (per recipient).

Everything expensive happens in :func:`compile_content`: the layout is wrapped around the
content, CSS is inlined and the text part derived from the HTML, and each field is compiled
by the sandbox. Rendering a recipient is then a few dictionary look-ups per token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string

from ..adapter import get_adapter
from ..conf import petmail_settings
from ..exceptions import TemplateError
from .html import html_to_text, inline_css
from .sandbox import CompiledTemplate, compile_template
from .tracking import TRACKING_TOKENS, TrackedLink, add_pixel, track_links

#: Tokens every message can use, besides what the adapter and context providers add.
LINK_TOKENS = frozenset({"unsubscribe_url", "preferences_url", "view_online_url"})
STANDARD_TOKENS = frozenset(
    {
        "first_name",
        "owner_name",
        "owner_full_name",
        "pet_name",
        "pet_names",
        "email",
        "site_url",
        "postal_address",
        *LINK_TOKENS,
    }
)


@dataclass
class CompiledContent:
    subject: CompiledTemplate
    preview: CompiledTemplate
    html: CompiledTemplate
    text: CompiledTemplate
    #: The HTML's tracked links in order (see ``rendering.tracking``), rewritten or not.
    links: tuple[TrackedLink, ...] = ()
    #: Whether the HTML carries the open pixel / click placeholders: a message's context
    #: then needs ``links.tracking_links`` (previews and the online page go without).
    tracks_opens: bool = False
    tracks_clicks: bool = False
    _untracked: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Without a message's own tracking URLs, links lead straight to their targets and
        # there is no pixel: previews, test sends and the view-online page.
        self._untracked = {
            "click_urls": [link.url for link in self.links],
            "open_pixel_url": "",
        }

    @property
    def link_urls(self) -> list[str]:
        """The tracked links' targets, in order (one list per content: do not change it)."""
        urls: list[str] = self._untracked["click_urls"]
        return urls

    @property
    def tracked(self) -> bool:
        return self.tracks_opens or (self.tracks_clicks and bool(self.links))

    @property
    def variables(self) -> frozenset[str]:
        every = (
            self.subject.variables | self.preview.variables | self.html.variables
        ) | self.text.variables
        return every - TRACKING_TOKENS

    def render(self, context: dict[str, Any], missing: set[str] | None = None) -> RenderedContent:
        """All four parts; the rendered preview text is available to the others (the layout
        hides it at the top of the HTML) as ``preview_text``."""
        preview = self.preview.render(context, missing)
        context = {**self._untracked, **context, "preview_text": preview}
        return RenderedContent(
            subject=" ".join(self.subject.render(context, missing).split()),
            preview=preview,
            html=self.html.render(context, missing),
            text=self.text.render(context, missing),
        )


@dataclass
class RenderedContent:
    subject: str
    preview: str
    html: str
    text: str


def check_field(source: str, *, html: bool, field: str) -> CompiledTemplate:
    """Compile one field, naming it in the error (for model ``clean()`` and serializers)."""
    try:
        return compile_template(source, html=html)
    except TemplateError as exc:
        raise TemplateError(f"{field}: {exc}") from exc


def compile_content(
    *,
    subject: str,
    html: str,
    text: str = "",
    preview_text: str = "",
    template: Any = None,
    layout: bool = True,
) -> CompiledContent:
    """Compile a message's four parts once. ``template`` (an ``EmailTemplate``) contributes
    the header image and footer; ``layout`` wraps the content in the default layout
    (``django_petmail/email/layout.html``, overridable) with the unsubscribe footer."""
    check_field(html, html=True, field="html_content")  # errors name the author's field
    if text:
        check_field(text, html=False, field="text_content")
    body_html = html
    footer_html = getattr(template, "footer_html", "") or ""
    if footer_html:
        check_field(footer_html, html=True, field="footer_html")
    if layout:
        header = getattr(template, "header_image", None)
        header_url = ""
        if header:
            header_url = header.url
            if not header_url.startswith(("http://", "https://")):
                header_url = get_adapter().get_site_url() + header_url
            # the URL becomes template source: template delimiters must stay inert
            header_url = header_url.replace("{", "%7B").replace("}", "%7D")
        body_html = render_to_string(
            "django_petmail/email/layout.html",
            {
                "content": html,
                "footer_html": footer_html,
                "header_image_url": header_url,
                "has_preview_text": bool(preview_text),
                "postal_address": petmail_settings.POSTAL_ADDRESS,
            },
        )
    if petmail_settings.INLINE_CSS:
        body_html = inline_css(body_html)
    track_clicks = petmail_settings.TRACK_CLICKS
    track_opens = petmail_settings.TRACK_OPENS
    body_html, links = track_links(body_html, rewrite=track_clicks)
    if track_opens:
        body_html = add_pixel(body_html)
    text_source = text or html_to_text(html)
    if layout:
        text_source = (
            text_source.rstrip()
            + "\n\n"
            + render_to_string(
                "django_petmail/email/layout.txt",
                {"postal_address": petmail_settings.POSTAL_ADDRESS},
            )
        )
    return CompiledContent(
        subject=check_field(subject, html=False, field="subject"),
        preview=check_field(preview_text, html=False, field="preview_text"),
        html=check_field(body_html, html=True, field="html_content"),
        text=check_field(text_source, html=False, field="text_content"),
        links=links,
        tracks_opens=track_opens,
        tracks_clicks=track_clicks and bool(links),
    )


def campaign_parts(campaign: Any, variant: str = "A") -> dict[str, Any]:
    """``compile_content`` arguments for a campaign's variant.

    Variant B uses its own subject and content when given; with its own content, its text
    part is derived from that content (the campaign's explicit text belongs to A).
    """
    use_b = variant == "B"
    own_b_html = bool(use_b and campaign.ab_html_content_b)
    html = (
        campaign.ab_html_content_b
        if own_b_html
        else campaign.html_content or getattr(campaign.template, "html_content", "")
    )
    return {
        "subject": campaign.ab_subject_b if use_b and campaign.ab_subject_b else campaign.subject,
        "html": html,
        "text": "" if own_b_html else campaign.text_content,
        "preview_text": campaign.preview_text,
        "template": campaign.template,
    }
