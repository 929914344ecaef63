"""How the admin shows a rendered message: its subject, the variables nothing provides, and
the HTML in a sandboxed frame (no script, no same-origin access)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from .exceptions import TemplateError


def preview_block(render: Callable[[], dict[str, Any]], *, height: int = 420) -> SafeString:
    """``render()`` returns a preview dict (``subject``, ``html``, ``unknown_tokens``); content
    that does not compile shows its error instead."""
    try:
        shown = render()
    except TemplateError as exc:
        return format_html("<strong>{}</strong>", str(exc))
    return format_html(
        "<p><strong>{}</strong></p><p>{}: {}</p>"
        '<iframe sandbox srcdoc="{}" style="width:100%;height:{}px;border:1px solid #ccc">'
        "</iframe>",
        shown["subject"],
        gettext("Unknown variables"),
        ", ".join(shown["unknown_tokens"]) or "—",
        shown["html"],
        height,
    )
