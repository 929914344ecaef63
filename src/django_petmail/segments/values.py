"""Value parsing for segment rules: relative dates, durations and per-type coercion.

Relative values (``-90d``, ``-6m``, ``-1y``, ``+2w``, ``today``) are kept symbolic after
validation and resolved when the rule is evaluated, in the site's timezone, so a saved segment
"visited in the last 90 days" means the last 90 days every time it runs.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ..exceptions import ValueProblem

_RELATIVE = re.compile(r"^(?P<sign>[+-])(?P<n>\d{1,5})(?P<unit>[dwmy])$")
_DURATION = re.compile(r"^(?P<n>\d{1,5})(?P<unit>[dwmy])$")
_UNIT_DAYS = {"d": 1, "w": 7}


@dataclass(frozen=True)
class RelativeDate:
    """``today`` shifted by ``amount`` ``unit`` (d, w, m, y); resolved at evaluation time."""

    amount: int
    unit: str

    def resolve(self, today: dt.date | None = None) -> dt.date:
        today = today or timezone.localdate()
        if self.unit in _UNIT_DAYS:
            return today + dt.timedelta(days=self.amount * _UNIT_DAYS[self.unit])
        months = self.amount * (12 if self.unit == "y" else 1)
        return add_months(today, months)

    def __str__(self) -> str:
        if self.amount == 0:
            return "today"
        return f"{'+' if self.amount > 0 else '-'}{abs(self.amount)}{self.unit}"


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar month arithmetic, clamping to the month's last day (31 Mar - 1m = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def parse_relative(value: str) -> RelativeDate | None:
    text = value.strip().lower()
    if text == "today":
        return RelativeDate(0, "d")
    match = _RELATIVE.match(text)
    if not match:
        return None
    amount = int(match["n"]) * (-1 if match["sign"] == "-" else 1)
    return RelativeDate(amount, match["unit"])


def parse_duration_days(value: Any) -> int:
    """``30`` or ``"30d"``/``"4w"``/``"6m"``/``"1y"`` → days (months 30, years 365)."""
    if isinstance(value, bool):
        raise ValueProblem(_("expected a duration such as '30d'"))
    if isinstance(value, int):
        days = value
    elif isinstance(value, str) and (match := _DURATION.match(value.strip().lower())):
        days = int(match["n"]) * {"d": 1, "w": 7, "m": 30, "y": 365}[match["unit"]]
    else:
        raise ValueProblem(
            _("expected a duration such as '30d', '4w', '6m' or '1y', got %(value)r")
            % {"value": value}
        )
    if not 0 <= days <= 36500:
        raise ValueProblem(_("duration out of range: %(value)r") % {"value": value})
    return days


def _in_range(relative: RelativeDate) -> RelativeDate:
    """``relative`` if it resolves to a representable date (``-99999y`` does not)."""
    try:
        relative.resolve()
    except (ValueError, OverflowError):
        raise ValueProblem(
            _("relative date out of range: %(value)s") % {"value": relative}
        ) from None
    return relative


def coerce_date(value: Any) -> dt.date | RelativeDate:
    if isinstance(value, str):
        relative = parse_relative(value)
        if relative is not None:
            return _in_range(relative)
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueProblem(
        _(
            "expected a date ('2024-05-31') or a relative date ('-90d', '-6m', '-1y', "
            "'today'), got %(value)r"
        )
        % {"value": value}
    )


def coerce_datetime(value: Any) -> dt.datetime | dt.date | RelativeDate:
    if isinstance(value, str):
        relative = parse_relative(value)
        if relative is not None:
            return _in_range(relative)
        text = value.strip()
        try:
            if "T" in text or " " in text:
                parsed = dt.datetime.fromisoformat(text)
                if timezone.is_naive(parsed):
                    parsed = timezone.make_aware(parsed)
                return parsed
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueProblem(
        _(
            "expected a date-time ('2024-05-31T10:00'), a date or a relative date "
            "('-90d'), got %(value)r"
        )
        % {"value": value}
    )


def coerce_number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueProblem(_("expected a number, got %(value)r") % {"value": value})
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise ValueProblem(_("expected a finite number, got %(value)r") % {"value": value})
    if not -(2**63) < value < 2**63:  # what a 64-bit SQL integer column can compare with
        raise ValueProblem(_("number out of range: %(value)r") % {"value": value})
    return value


def coerce_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueProblem(_("expected a number, got %(value)r") % {"value": value})
    if isinstance(value, int | float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueProblem(_("expected a number, got %(value)r") % {"value": value}) from None
        if result.is_finite():
            return result
    raise ValueProblem(_("expected a finite number, got %(value)r") % {"value": value})


def resolve(value: Any, *, as_datetime: bool = False) -> Any:
    """Turn symbolic values into concrete ones at evaluation time (recursively for lists)."""
    if isinstance(value, list | tuple):
        return [resolve(v, as_datetime=as_datetime) for v in value]
    if isinstance(value, RelativeDate):
        value = value.resolve()
    if as_datetime and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return timezone.make_aware(dt.datetime.combine(value, dt.time.min))
    return value
