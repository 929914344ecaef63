"""Charts of the reports as server-side SVG: no library, no CDN, no JavaScript.

Each function takes a piece of a report (``reports.Funnel``, the timeline, the A/B section,
the top links, the overview's days) and returns an ``<svg>`` element as a ``SafeString``:
``role="img"`` with a ``<title>`` and an ``aria-label``, a fixed ``viewBox`` drawn for a page
about 1,280 px wide, text labels that carry the numbers, and ``data-value`` on every bar and
point (the browser test reads both). Every interpolated value — URLs and names come from
users — is escaped by :func:`_tag`; nothing is marked safe before that. Empty data and all
zeros draw an empty chart with its axes, never a division by zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.utils import formats
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .reports import TIMELINE_HOURS, ABSection, DayPoint, Funnel, Link, TimelinePoint

#: The chart's width in user units; the SVG scales to its container (``width="100%"``).
WIDTH = 960
#: Colours of the series (readable on white, distinct for colour-blind readers).
OPEN_COLOUR = "#1f77b4"
CLICK_COLOUR = "#e66100"
SENT_COLOUR = "#9aa5b1"
#: Longest link text drawn (the whole URL is in the bar's ``<title>``).
LINK_CHARS = 70

_FONT = "font-family:system-ui,sans-serif;font-size:13px"


def _tag(name: str, attrs: dict[str, Any] | None = None, *children: Any) -> SafeString:
    """``<name attrs>children</name>``: attribute values and plain-text children escaped;
    ``SafeString`` children (tags built here) kept as they are."""
    parts = [name]
    for key, value in (attrs or {}).items():
        if value is None:
            continue
        parts.append(f'{key}="{escape(value)}"')
    opening = " ".join(parts)
    inner = "".join(conditional_escape(child) for child in children)
    return mark_safe(f"<{opening}>{inner}</{name}>")


def number(value: float | Decimal, decimals: int = 0) -> str:
    """A number in the active language's format, with thousands grouped, rounded to
    ``decimals`` (Django's formatting alone would cut the digits off)."""
    rounded = round(float(value), decimals)
    return formats.number_format(rounded, decimals, use_l10n=True, force_grouping=True)


def percent(value: float) -> str:
    """A percentage with one decimal, ``"22.4 %"`` (``"22,4 %"`` in Spanish)."""
    return f"{number(value, 1)} %"


def _fmt(value: float) -> str:
    """A coordinate with at most one decimal."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(kind: str, title: str, height: int, *children: SafeString) -> SafeString:
    return _tag(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {height}",
            "width": "100%",
            "role": "img",
            "aria-label": title,
            "class": f"petmail-chart petmail-chart-{kind}",
            "data-chart": kind,
            "style": f"max-width:{WIDTH}px;{_FONT}",
        },
        _tag("title", None, title),
        *children,
    )


def _text(x: float, y: float, content: str, **attrs: Any) -> SafeString:
    return _tag("text", {"x": _fmt(x), "y": _fmt(y), **attrs}, content)


def _nice_max(value: float) -> float:
    """The top of an axis: 1, 2 or 5 times a power of ten, at least ``value`` (1 for 0)."""
    if value <= 0:
        return 1
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if value <= factor * step:
            return factor * step
    return 10 * step  # pragma: no cover - the loop above always returns


def _bar_rows(
    kind: str,
    title: str,
    rows: Sequence[tuple[str, int, str, str]],
    *,
    label_width: int,
    colour: str,
    empty: str,
) -> SafeString:
    """Horizontal bars: ``(label, value, value text, tooltip)`` per row, scaled to the largest."""
    row_height, top = 34, 10
    height = top * 2 + max(1, len(rows)) * row_height
    left, right = label_width, WIDTH - 150
    biggest = max((value for _label, value, _t, _tip in rows), default=0)
    children: list[SafeString] = []
    if not rows:
        children.append(_text(WIDTH / 2, height / 2 + 5, empty, **{"text-anchor": "middle"}))
    for i, (label, value, value_text, tooltip) in enumerate(rows):
        y = top + i * row_height
        width = (right - left) * value / biggest if biggest else 0
        children.append(
            _tag(
                "g",
                {"class": "petmail-row", "data-label": label},
                _text(left - 8, y + 21, label, **{"text-anchor": "end", "class": "petmail-label"}),
                _tag(
                    "rect",
                    {
                        "x": left,
                        "y": y + 4,
                        "width": _fmt(width),
                        "height": row_height - 8,
                        "fill": colour,
                        "class": "petmail-bar",
                        "data-value": value,
                    },
                    _tag("title", None, tooltip),
                ),
                _text(
                    left + width + 8,
                    y + 21,
                    value_text,
                    **{"class": "petmail-value", "data-value": value},
                ),
            )
        )
    return _svg(kind, title, height, *children)


# -- the charts ----------------------------------------------------------------------------


def funnel_svg(funnel: Funnel) -> SafeString:
    """Recipients → sent → delivered → opened → clicked → converted, as horizontal bars with
    the number and its share of the recipients."""
    stages = [
        (_("Recipients"), funnel.recipients),
        (_("Sent"), funnel.sent),
        (_("Delivered"), funnel.delivered),
        (_("Opened"), funnel.opened),
        (_("Clicked"), funnel.clicked),
        (_("Converted"), funnel.converted),
    ]
    rows = []
    for label, value in stages:
        share = 100 * value / funnel.recipients if funnel.recipients else 0.0
        text = f"{number(value)} ({percent(share)})"
        rows.append((label, value, text, f"{label}: {text}"))
    return _bar_rows(
        "funnel",
        _("Funnel: how far the mail went"),
        rows,
        label_width=130,
        colour=OPEN_COLOUR,
        empty=_("Nothing sent yet"),
    )


def links_svg(links: Iterable[Link]) -> SafeString:
    """The most clicked links as horizontal bars: clicks and unique clickers per URL."""
    rows = []
    for link in links:
        url = link.url if len(link.url) <= LINK_CHARS else link.url[: LINK_CHARS - 1] + "…"
        text = _("%(clicks)s clicks, %(unique)s unique") % {
            "clicks": number(link.clicks),
            "unique": number(link.unique_clickers),
        }
        rows.append((url, link.clicks, text, f"{link.url}: {text}"))
    return _bar_rows(
        "links",
        _("Most clicked links"),
        rows,
        label_width=520,
        colour=CLICK_COLOUR,
        empty=_("No clicks yet"),
    )


def _axes(
    left: float, top: float, right: float, bottom: float, y_max: float, y_ticks: int = 4
) -> list[SafeString]:
    """The two axes and the y ticks (0 … ``y_max``), each labelled, with light grid lines."""
    parts = [
        _tag("line", {"x1": left, "y1": bottom, "x2": right, "y2": bottom, "stroke": "#333"}),
        _tag("line", {"x1": left, "y1": top, "x2": left, "y2": bottom, "stroke": "#333"}),
    ]
    for i in range(y_ticks + 1):
        value = y_max * i / y_ticks
        y = bottom - (bottom - top) * i / y_ticks
        if i:
            parts.append(
                _tag(
                    "line",
                    {"x1": left, "y1": _fmt(y), "x2": right, "y2": _fmt(y), "stroke": "#e5e5e5"},
                )
            )
        decimals = 0 if float(value).is_integer() else 1
        parts.append(
            _text(
                left - 6,
                y + 4,
                number(value, decimals),
                **{"text-anchor": "end", "class": "petmail-tick-y"},
            )
        )
    return parts


def _series(name: str, colour: str, points: Sequence[tuple[float, float, int, str]]) -> SafeString:
    """A line through ``(x, y, value, tooltip)`` with a dot per non-zero value."""
    path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y, _v, _t in points)
    dots = [
        _tag(
            "circle",
            {"cx": _fmt(x), "cy": _fmt(y), "r": 3, "fill": colour, "data-value": value},
            _tag("title", None, tooltip),
        )
        for x, y, value, tooltip in points
        if value
    ]
    line = (
        _tag("polyline", {"points": path, "fill": "none", "stroke": colour, "stroke-width": 2})
        if points
        else mark_safe("")
    )
    return _tag("g", {"class": "petmail-series", "data-series": name}, line, *dots)


def _legend(x: float, y: float, entries: Sequence[tuple[str, str, str, int]]) -> SafeString:
    """Legend entries ``(series, colour, text, total)``, side by side."""
    parts = []
    for i, (series, colour, text, total) in enumerate(entries):
        at = x + i * 230
        parts.append(
            _tag(
                "g",
                {"class": "petmail-legend", "data-series": series},
                _tag(
                    "rect", {"x": at, "y": _fmt(y - 10), "width": 14, "height": 10, "fill": colour}
                ),
                _text(at + 20, y, text, **{"class": "petmail-total", "data-value": total}),
            )
        )
    return _tag("g", None, *parts)


def timeline_svg(points: Sequence[TimelinePoint]) -> SafeString:
    """Opens and clicks per hour over the first 72 hours after the first send: two lines,
    the hours labelled every 12, the y axis in four ticks, the totals in the legend."""
    height, left, right, top, bottom = 320, 60, WIDTH - 20, 40, 270
    opens = sum(p.opens for p in points)
    clicks = sum(p.clicks for p in points)
    y_max = _nice_max(max((max(p.opens, p.clicks) for p in points), default=0))

    def x_of(hour: float) -> float:
        return left + (right - left) * hour / TIMELINE_HOURS

    def y_of(value: int) -> float:
        return bottom - (bottom - top) * value / y_max

    children = _axes(left, top, right, bottom, y_max)
    for hour in range(0, TIMELINE_HOURS + 1, 12):
        children.append(
            _text(
                x_of(hour),
                bottom + 18,
                _("%(hours)s h") % {"hours": hour},
                **{"text-anchor": "middle", "class": "petmail-tick-x"},
            )
        )
    children.append(
        _text(
            (left + right) / 2,
            bottom + 40,
            _("Hours after the first send"),
            **{"text-anchor": "middle"},
        )
    )
    for name, colour, label, attr in (
        ("opens", OPEN_COLOUR, _("Opens"), "opens"),
        ("clicks", CLICK_COLOUR, _("Clicks"), "clicks"),
    ):
        series = [
            (
                x_of(p.hour + 0.5),
                y_of(getattr(p, attr)),
                getattr(p, attr),
                f"{p.hour} h: {number(getattr(p, attr))} {label.lower()}",
            )
            for p in points
        ]
        children.append(_series(name, colour, series))
    children.append(
        _legend(
            left,
            22,
            [
                ("opens", OPEN_COLOUR, _("Opens: %(n)s") % {"n": number(opens)}, opens),
                ("clicks", CLICK_COLOUR, _("Clicks: %(n)s") % {"n": number(clicks)}, clicks),
            ],
        )
    )
    if not points:
        children.append(
            _text(
                (left + right) / 2,
                (top + bottom) / 2,
                _("Nothing sent yet"),
                **{"text-anchor": "middle"},
            )
        )
    return _svg("timeline", _("Opens and clicks per hour, first 72 hours"), height, *children)


def ab_svg(ab: ABSection) -> SafeString:
    """Each variant's open rate and click rate (of its sent) as bars side by side; the
    winner, once chosen, is outlined and labelled."""
    height, left, right, top, bottom = 320, 60, WIDTH - 20, 40, 250
    y_max = _nice_max(max((max(v.open_rate, v.click_rate) for v in ab.variants), default=0))
    children = _axes(left, top, right, bottom, y_max)
    group_width = (right - left) / max(1, len(ab.variants))
    bar_width = min(120.0, group_width / 3)
    for i, variant in enumerate(ab.variants):
        centre = left + group_width * (i + 0.5)
        winner = variant.variant == ab.winner
        bars: list[SafeString] = []
        for j, (name, colour, rate, count) in enumerate(
            (
                ("open_rate", OPEN_COLOUR, variant.open_rate, variant.opened),
                ("click_rate", CLICK_COLOUR, variant.click_rate, variant.clicked),
            )
        ):
            x = centre - bar_width - 4 + j * (bar_width + 8)
            bar_height = (bottom - top) * rate / y_max
            label = _("Open rate") if name == "open_rate" else _("Click rate")
            bars.append(
                _tag(
                    "rect",
                    {
                        "x": _fmt(x),
                        "y": _fmt(bottom - bar_height),
                        "width": _fmt(bar_width),
                        "height": _fmt(bar_height),
                        "fill": colour,
                        "class": f"petmail-bar petmail-{name}",
                        "data-value": rate,
                    },
                    _tag("title", None, f"{variant.label}: {label} {percent(rate)}"),
                )
            )
            bars.append(
                _text(
                    x + bar_width / 2,
                    bottom - bar_height - 6,
                    percent(rate),
                    **{
                        "text-anchor": "middle",
                        "class": f"petmail-value petmail-{name}",
                        "data-value": rate,
                        "data-count": count,
                    },
                )
            )
        caption = _("%(variant)s — %(sent)s sent") % {
            "variant": variant.label,
            "sent": number(variant.sent),
        }
        if winner:
            caption = _("%(caption)s — winner") % {"caption": caption}
            bars.insert(
                0,
                _tag(
                    "rect",
                    {
                        "x": _fmt(centre - group_width / 2 + 10),
                        "y": top - 8,
                        "width": _fmt(group_width - 20),
                        "height": bottom - top + 46,
                        "fill": "none",
                        "stroke": "#2e7d32",
                        "stroke-width": 3,
                        "rx": 6,
                        "class": "petmail-winner",
                    },
                ),
            )
        bars.append(
            _text(
                centre,
                bottom + 24,
                caption,
                **{"text-anchor": "middle", "font-weight": "bold" if winner else None},
            )
        )
        children.append(
            _tag(
                "g",
                {
                    "class": "petmail-variant",
                    "data-variant": variant.variant,
                    "data-winner": "true" if winner else "false",
                },
                *bars,
            )
        )
    children.append(
        _legend(
            left,
            22,
            [
                ("open_rate", OPEN_COLOUR, _("Open rate (of sent)"), 0),
                ("click_rate", CLICK_COLOUR, _("Click rate (of sent)"), 0),
            ],
        )
    )
    return _svg("ab", _("A/B test: open and click rate per variant"), height, *children)


def daily_svg(days: Sequence[DayPoint]) -> SafeString:
    """The overview's days: sends accepted as bars, open and click events as lines; a few
    dates labelled on the x axis, the totals in the legend."""
    height, left, right, top, bottom = 320, 60, WIDTH - 20, 40, 270
    y_max = _nice_max(max((max(d.sent, d.opens, d.clicks) for d in days), default=0))
    slot = (right - left) / max(1, len(days))
    children = _axes(left, top, right, bottom, y_max)

    def y_of(value: int) -> float:
        return bottom - (bottom - top) * value / y_max

    bars = []
    for i, day in enumerate(days):
        when = formats.date_format(day.day, "SHORT_DATE_FORMAT")
        bars.append(
            _tag(
                "rect",
                {
                    "x": _fmt(left + i * slot + slot * 0.15),
                    "y": _fmt(y_of(day.sent)),
                    "width": _fmt(slot * 0.7),
                    "height": _fmt(bottom - y_of(day.sent)),
                    "fill": SENT_COLOUR,
                    "class": "petmail-bar",
                    "data-day": day.day.isoformat(),
                    "data-value": day.sent,
                },
                _tag("title", None, f"{when}: {number(day.sent)} {_('sent')}"),
            )
        )
    children.append(_tag("g", {"class": "petmail-series", "data-series": "sent"}, *bars))
    for name, colour, label in (
        ("opens", OPEN_COLOUR, _("opens")),
        ("clicks", CLICK_COLOUR, _("clicks")),
    ):
        series = [
            (
                left + (i + 0.5) * slot,
                y_of(getattr(day, name)),
                getattr(day, name),
                f"{formats.date_format(day.day, 'SHORT_DATE_FORMAT')}: "
                f"{number(getattr(day, name))} {label}",
            )
            for i, day in enumerate(days)
        ]
        children.append(_series(name, colour, series))
    if days:
        every = max(1, len(days) // 6)
        for i in range(0, len(days), every):
            children.append(
                _text(
                    left + (i + 0.5) * slot,
                    bottom + 18,
                    formats.date_format(days[i].day, "SHORT_DATE_FORMAT"),
                    **{"text-anchor": "middle", "class": "petmail-tick-x"},
                )
            )
    else:
        children.append(
            _text((left + right) / 2, (top + bottom) / 2, _("No days"), **{"text-anchor": "middle"})
        )
    sent = sum(d.sent for d in days)
    opens = sum(d.opens for d in days)
    clicks = sum(d.clicks for d in days)
    children.append(
        _legend(
            left,
            22,
            [
                ("sent", SENT_COLOUR, _("Sent: %(n)s") % {"n": number(sent)}, sent),
                ("opens", OPEN_COLOUR, _("Opens: %(n)s") % {"n": number(opens)}, opens),
                ("clicks", CLICK_COLOUR, _("Clicks: %(n)s") % {"n": number(clicks)}, clicks),
            ],
        )
    )
    return _svg("daily", _("Sent, opens and clicks per day"), height, *children)
