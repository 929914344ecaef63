"""HTML helpers applied once per template, never per recipient: CSS inlining and the plain
text part derived from the HTML."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

_BLOCK = {
    "p",
    "div",
    "br",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "table",
    "ul",
    "ol",
    "hr",
    "blockquote",
    "section",
    "header",
    "footer",
}
_SKIP = {"style", "script", "head", "title"}


def inline_css(html: str) -> str:
    """Move ``<style>`` rules into ``style=""`` attributes (mail clients drop ``<style>``).

    Template tags in text and attributes survive, so this runs on the template source.
    """
    if "<style" not in html.lower():
        return html
    import css_inline

    inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
    return str(inliner.inline(html))


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        self.skipping = 0
        self.href: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "a":
            self.href = dict(attrs).get("href") or ""
            self.link_text = []
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "a" and self.href is not None:
            text = "".join(self.link_text).strip()
            href = self.href
            self.parts.append(f"{text} ({href})" if text and text != href else href)
            self.href = None
        elif tag in _BLOCK:
            self.parts.append("\n")

    def _text(self, data: str) -> None:
        if self.skipping:
            return
        if self.href is not None:
            self.link_text.append(data)
        else:
            self.parts.append(data)

    def handle_data(self, data: str) -> None:
        self._text(data)

    def handle_entityref(self, name: str) -> None:
        self._text(unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self._text(unescape(f"&#{name};"))


def html_to_text(html: str) -> str:
    """A readable plain-text version: paragraphs as blank lines, links as ``text (url)``."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
