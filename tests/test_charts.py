"""The report charts as SVG: shapes and labels for typical data, empty data and all zeros
(no division by zero), every user value escaped, an accessible image each time."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import translation
from django.utils.safestring import SafeString

from django_petmail.analytics import (
    ABSection,
    ABVariantResult,
    DayPoint,
    Funnel,
    Link,
    TimelinePoint,
)
from django_petmail.analytics.charts import (
    ab_svg,
    daily_svg,
    funnel_svg,
    links_svg,
    number,
    percent,
    timeline_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2025, 3, 3, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def parse(svg: SafeString) -> ET.Element:
    assert isinstance(svg, SafeString)
    root = ET.fromstring(str(svg))  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label")
    assert root.find(f"{SVG}title").text == root.get("aria-label")
    assert re.fullmatch(r"0 0 960 \d+", root.get("viewBox"))
    return root


def values(root: ET.Element, tag: str = "rect") -> list[str]:
    return [e.get("data-value") for e in root.iter(f"{SVG}{tag}") if e.get("data-value")]


def texts(root: ET.Element) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}text")]


def ab_section(**overrides) -> ABSection:
    fields = {
        "metric": "open_rate",
        "metric_label": "Open rate",
        "p_value": 0.018,
        "confidence": 0.95,
        "significant": True,
        "winner": "A",
        "decided_at": T0,
        "variants": (
            ABVariantResult("A", "Variant A", 100, 24, 5, 24.0, 5.0),
            ABVariantResult("B", "Variant B", 100, 18, 3, 18.0, 3.0),
        ),
    }
    return ABSection(**{**fields, **overrides})


def test_funnel_bars_and_labels():
    root = parse(funnel_svg(Funnel(9, 8, 6, 4, 3, 2)))
    assert values(root) == ["9", "8", "6", "4", "3", "2"]
    assert values(root, "text") == ["9", "8", "6", "4", "3", "2"]
    labels = texts(root)
    assert "Recipients" in labels and "Converted" in labels
    assert "8 (88.9 %)" in labels
    widths = [float(e.get("width")) for e in root.iter(f"{SVG}rect")]
    assert widths[0] == max(widths) and widths == sorted(widths, reverse=True)


def test_funnel_of_nothing_draws_zero_bars():
    root = parse(funnel_svg(Funnel(0, 0, 0, 0, 0, 0)))
    assert values(root) == ["0"] * 6
    assert {float(e.get("width")) for e in root.iter(f"{SVG}rect")} == {0.0}
    assert "0 (0.0 %)" in texts(root)


def test_timeline_has_two_series_axes_and_totals():
    points = [
        TimelinePoint(0, T0, 6, 1, 1),
        TimelinePoint(1, T0 + timedelta(hours=1), 2, 2, 1),
        TimelinePoint(2, T0 + timedelta(hours=2), 0, 1, 1),
        TimelinePoint(3, T0 + timedelta(hours=3), 0, 0, 1),
    ]
    root = parse(timeline_svg(points))
    series = {
        g.get("data-series"): g for g in root.iter(f"{SVG}g") if g.get("class") == "petmail-series"
    }
    assert {"opens", "clicks"} <= set(series)
    assert len(series["opens"].findall(f"{SVG}polyline")) == 1
    assert values(series["opens"], "circle") == ["1", "2", "1"]  # a dot per non-zero hour
    assert values(series["clicks"], "circle") == ["1", "1", "1", "1"]
    labels = texts(root)
    assert "Opens: 4" in labels and "Clicks: 4" in labels
    assert [t for t in labels if t.endswith(" h")] == [
        "0 h",
        "12 h",
        "24 h",
        "36 h",
        "48 h",
        "60 h",
        "72 h",
    ]
    assert "0" in labels and "2" in labels  # y ticks up to the nice maximum


@pytest.mark.parametrize(
    "points",
    [[], [TimelinePoint(0, T0, 0, 0, 0)]],
    ids=["no hours", "all zeros"],
)
def test_timeline_without_events(points):
    root = parse(timeline_svg(points))
    assert values(root, "circle") == []
    assert "Opens: 0" in texts(root)


def test_ab_bars_side_by_side_with_the_winner_marked():
    root = parse(ab_svg(ab_section()))
    groups = [g for g in root.iter(f"{SVG}g") if g.get("data-variant")]
    assert [g.get("data-variant") for g in groups] == ["A", "B"]
    assert [g.get("data-winner") for g in groups] == ["true", "false"]
    assert len(groups[0].findall(f"{SVG}rect[@class='petmail-winner']")) == 1
    assert groups[1].findall(f"{SVG}rect[@class='petmail-winner']") == []
    assert values(groups[0]) == ["24.0", "5.0"] and values(groups[1]) == ["18.0", "3.0"]
    labels = texts(root)
    assert {"24.0 %", "5.0 %", "18.0 %", "3.0 %"} <= set(labels)
    assert "Variant A — 100 sent — winner" in labels
    assert "Variant B — 100 sent" in labels


def test_ab_before_any_send():
    empty = (
        ABVariantResult("A", "Variant A", 0, 0, 0, 0.0, 0.0),
        ABVariantResult("B", "Variant B", 0, 0, 0, 0.0, 0.0),
    )
    root = parse(ab_svg(ab_section(variants=empty, winner=None, significant=False)))
    assert values(root) == ["0.0"] * 4
    assert all(
        g.get("data-winner") == "false" for g in root.iter(f"{SVG}g") if g.get("data-variant")
    )


def test_links_are_bars_with_clicks_and_unique_clickers():
    links = [
        Link("https://huellas.example/otono", 3, 2),
        Link("https://huellas.example/vacunas", 1, 1),
    ]
    root = parse(links_svg(links))
    assert values(root) == ["3", "1"]
    labels = texts(root)
    assert "https://huellas.example/otono" in labels
    assert "3 clicks, 2 unique" in labels and "1 clicks, 1 unique" in labels


def test_a_long_link_is_shortened_but_whole_in_its_tooltip():
    url = "https://huellas.example/" + "x" * 200
    root = parse(links_svg([Link(url, 1, 1)]))
    label = next(t for t in texts(root) if t.startswith("https://"))
    assert len(label) == 70 and label.endswith("…")
    assert any(url in (t.text or "") for t in root.iter(f"{SVG}title"))


def test_no_links():
    root = parse(links_svg([]))
    assert values(root) == []
    assert "No clicks yet" in texts(root)


def test_a_script_in_a_link_url_is_escaped():
    evil = 'https://x.example/"><script>alert(1)</script>'
    svg = str(links_svg([Link(evil, 2, 1)]))
    assert "<script>" not in svg and '/"><script' not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    root = parse(links_svg([Link(evil, 2, 1)]))
    assert evil in texts(root)  # the reader sees the text as it was, harmless


def test_a_script_in_a_variant_label_is_escaped():
    variants = (
        ABVariantResult("A", "<script>alert(1)</script>", 10, 1, 0, 10.0, 0.0),
        ABVariantResult("B", "Variant B", 10, 1, 0, 10.0, 0.0),
    )
    svg = str(ab_svg(ab_section(variants=variants)))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_daily_bars_lines_and_dates():
    days = [
        DayPoint(date(2025, 3, 1) + timedelta(days=i), 10 * i, 0, i, i // 2, 0, 0, 0)
        for i in range(30)
    ]
    root = parse(daily_svg(days))
    sent = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "petmail-series")
    assert values(sent) == [str(10 * i) for i in range(30)]
    assert [r.get("data-day") for r in sent][:2] == ["2025-03-01", "2025-03-02"]
    labels = texts(root)
    assert f"Sent: {number(sum(10 * i for i in range(30)))}" in labels
    assert "Opens: 435" in labels and "Clicks: 210" in labels
    assert len(root.findall(f".//{SVG}text[@class='petmail-tick-x']")) in range(5, 8)


@pytest.mark.parametrize("days", [[], [DayPoint(date(2025, 3, 1), 0, 0, 0, 0, 0, 0, 0)]])
def test_daily_of_nothing(days):
    root = parse(daily_svg(days))
    assert set(values(root)) <= {"0"}
    assert "Sent: 0" in texts(root)


def test_numbers_follow_the_language():
    with translation.override("es"):
        assert number(1240) == "1\xa0240"  # Django's Spanish format groups with a space
        assert percent(22.4) == "22,4 %"
        root = parse(funnel_svg(Funnel(2000, 1240, 0, 0, 0, 0)))
        assert "1\xa0240 (62,0 %)" in texts(root)
    assert number(1240) == "1,240" and percent(22.4) == "22.4 %"
