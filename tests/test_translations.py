"""Source strings are English; the Spanish catalog translates every one, and the catalogs
are compiled from their current sources."""

import gettext
import re
from pathlib import Path

import pytest

import django_petmail

LOCALE = Path(django_petmail.__file__).parent / "locale"


def _entries(po: Path) -> list[tuple[str, str, list[str], list[str]]]:
    """``(msgctxt, msgid, [flag, …], [msgstr, …])`` per entry; plural entries have one
    msgstr per form."""
    entries: list[tuple[str, str, list[str], list[str]]] = []
    ctx, msgid, flags, forms, field = "", None, [], [], None
    pending_flags: list[str] = []
    for line in po.read_text(encoding="utf-8").splitlines():
        if line.startswith("#,"):
            pending_flags += [f.strip() for f in line[2:].split(",")]
        elif line.startswith("msgctxt "):
            if msgid is not None:
                entries.append((ctx, msgid, flags, forms))
                msgid = None
            ctx, field = line[9:-1], "ctx"
        elif line.startswith("msgid "):
            if msgid is not None:
                entries.append((ctx, msgid, flags, forms))
                ctx = ""
            msgid, flags, forms, field = line[7:-1], pending_flags, [], "id"
            pending_flags = []
        elif line.startswith("msgid_plural "):
            field = "plural"
        elif line.startswith("msgstr"):
            forms.append(line.split(" ", 1)[1][1:-1])
            field = "str"
        elif line.startswith('"') and field == "ctx":
            ctx += line[1:-1]
        elif line.startswith('"') and field == "id":
            msgid += line[1:-1]
        elif line.startswith('"') and field == "str":
            forms[-1] += line[1:-1]
    if msgid is not None:
        entries.append((ctx, msgid, flags, forms))
    return [(c, i, fl, f) for c, i, fl, f in entries if i]


def _unescape(text: str) -> str:
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), text)


def test_source_strings_are_english():
    spanish = re.compile("[áéíóúñÁÉÍÓÚÑ¿¡«»]")
    msgids = [i for _, i, _, _ in _entries(LOCALE / "es/LC_MESSAGES/django.po")]
    assert len(msgids) > 250
    assert [i for i in msgids if spanish.search(i)] == []


def test_spanish_catalog_is_complete():
    entries = _entries(LOCALE / "es/LC_MESSAGES/django.po")
    missing = [i for _, i, _, f in entries if not f or not all(f)]
    fuzzy = [i for _, i, flags, _ in entries if "fuzzy" in flags]
    assert missing == []
    assert fuzzy == []


@pytest.mark.parametrize("lang", ["en", "es"])
def test_catalogs_are_compiled_after_their_sources(lang):
    po = LOCALE / lang / "LC_MESSAGES/django.po"
    mo = LOCALE / lang / "LC_MESSAGES/django.mo"
    assert mo.exists(), f"run `make messages` to compile {lang}"
    assert "fuzzy" not in po.read_text(encoding="utf-8").split("msgid", 2)[2]
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)._catalog
    expected = {}
    for ctx, msgid, _, forms in _entries(po):
        key = f"{_unescape(ctx)}\x04{_unescape(msgid)}" if ctx else _unescape(msgid)
        if len(forms) == 1:
            if forms[0]:
                expected[key] = _unescape(forms[0])
        elif all(forms):
            expected.update({(key, n): _unescape(form) for n, form in enumerate(forms)})
    compiled = {k: v for k, v in compiled.items() if k != ""}
    assert compiled == expected, f"run `make messages`: {lang}'s .mo is older than its .po"


def test_spanish_sources_are_valid_utf8_without_mojibake():
    text = (LOCALE / "es/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    assert "Pendiente de confirmación" in text
    assert "\ufffd" not in text and "ì¹©" not in text
