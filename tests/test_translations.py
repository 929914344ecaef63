"""Every Spanish source string has an English translation, and the catalogs are compiled."""

from pathlib import Path

import django_petmail

LOCALE = Path(django_petmail.__file__).parent / "locale"


def _entries(po: Path) -> list[tuple[str, list[str]]]:
    """``(msgid, [msgstr, …])`` per entry; plural entries have one msgstr per form."""
    entries: list[tuple[str, list[str]]] = []
    msgid, forms, field = None, [], None
    for line in po.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            if msgid is not None:
                entries.append((msgid, forms))
            msgid, forms, field = line[7:-1], [], "id"
        elif line.startswith("msgid_plural "):
            field = "plural"
        elif line.startswith("msgstr"):
            forms.append(line.split(" ", 1)[1][1:-1])
            field = "str"
        elif line.startswith('"') and field == "id":
            msgid += line[1:-1]
        elif line.startswith('"') and field == "str":
            forms[-1] += line[1:-1]
    if msgid is not None:
        entries.append((msgid, forms))
    return [(i, f) for i, f in entries if i]


def test_english_catalog_is_complete():
    missing = [i for i, f in _entries(LOCALE / "en/LC_MESSAGES/django.po") if not all(f)]
    assert missing == []


def test_catalogs_are_compiled_after_their_sources():
    for lang in ("en", "es"):
        po = LOCALE / lang / "LC_MESSAGES/django.po"
        mo = LOCALE / lang / "LC_MESSAGES/django.mo"
        assert mo.exists(), f"run `make messages` to compile {lang}"
        assert "fuzzy" not in po.read_text(encoding="utf-8").split("msgid", 2)[2]


def test_spanish_sources_are_valid_utf8_without_mojibake():
    text = (LOCALE / "es/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    assert "Pendiente de confirmación" in text
    assert "\ufffd" not in text and "ì¹©" not in text
