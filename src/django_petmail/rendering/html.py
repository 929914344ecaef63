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


_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_PLACEHOLDER = re.compile(r"<!--petmail-jinja-(\d+)-->|petmailjinja(\d+)x")


def inline_css(html: str) -> str:
    """Move ``<style>`` rules into ``style=""`` attributes (mail clients drop ``<style>``).

    This runs on the template source, so template tags are swapped for placeholders first:
    an HTML parser would escape the ``>`` of ``{% if n > 1 %}`` and move a ``{% for %}``
    between ``<tr>`` rows out of its table. Between tags a placeholder is an HTML comment
    (which stays where it is, even in a table); inside a tag it is a plain word.
    """
    if "<style" not in html.lower():
        return html
    import css_inline

    constructs: list[str] = []
    parts: list[str] = []
    position = 0
    inside_tag = False
    for match in _JINJA.finditer(html):
        before = html[position : match.start()]
        parts.append(before)
        last_open, last_close = before.rfind("<"), before.rfind(">")
        if last_open != last_close:  # both -1: no markup since the last construct
            inside_tag = last_open > last_close
        index = len(constructs)
        constructs.append(match.group())
        parts.append(f"petmailjinja{index}x" if inside_tag else f"<!--petmail-jinja-{index}-->")
        position = match.end()
    parts.append(html[position:])
    inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
    inlined = str(inliner.inline("".join(parts)))
    return _PLACEHOLDER.sub(lambda m: constructs[int(m.group(1) or m.group(2))], inlined)


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
