"""Rule values: relative dates, durations and per-type coercion."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from django_petmail.segments.values import (
    RelativeDate,
    ValueProblem,
    add_months,
    coerce_date,
    coerce_datetime,
    coerce_decimal,
    coerce_number,
    parse_duration_days,
    parse_relative,
    resolve,
)

# --- parse_relative ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def english():
    """The messages are translatable; these tests assert their English msgids."""
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", RelativeDate(0, "d")),
        ("TODAY", RelativeDate(0, "d")),
        ("  Today ", RelativeDate(0, "d")),
        ("-90d", RelativeDate(-90, "d")),
        ("+2w", RelativeDate(2, "w")),
        ("-6m", RelativeDate(-6, "m")),
        ("-1y", RelativeDate(-1, "y")),
        ("+0d", RelativeDate(0, "d")),
        (" -90D ", RelativeDate(-90, "d")),
        ("-12M", RelativeDate(-12, "m")),
        ("-99999d", RelativeDate(-99999, "d")),
    ],
)
def test_parse_relative(text, expected):
    assert parse_relative(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "90d", "-90", "-90x", "-d", "yesterday", "tomorrow", "-1.5d", "-100000d", "- 9d", "-9d!"],
)
def test_parse_relative_rejects(text):
    assert parse_relative(text) is None


# --- RelativeDate -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "today", "expected"),
    [
        (RelativeDate(0, "d"), dt.date(2024, 5, 31), dt.date(2024, 5, 31)),
        (RelativeDate(-90, "d"), dt.date(2024, 5, 31), dt.date(2024, 3, 2)),
        (RelativeDate(2, "w"), dt.date(2024, 12, 25), dt.date(2025, 1, 8)),
        (RelativeDate(-6, "m"), dt.date(2024, 5, 31), dt.date(2023, 11, 30)),
        (RelativeDate(-1, "m"), dt.date(2024, 3, 31), dt.date(2024, 2, 29)),
        (RelativeDate(-1, "m"), dt.date(2023, 3, 31), dt.date(2023, 2, 28)),
        (RelativeDate(1, "m"), dt.date(2024, 1, 31), dt.date(2024, 2, 29)),
        (RelativeDate(-1, "y"), dt.date(2024, 2, 29), dt.date(2023, 2, 28)),
        (RelativeDate(4, "y"), dt.date(2024, 2, 29), dt.date(2028, 2, 29)),
        (RelativeDate(-13, "m"), dt.date(2024, 1, 15), dt.date(2022, 12, 15)),
        (RelativeDate(12, "m"), dt.date(2024, 12, 1), dt.date(2025, 12, 1)),
    ],
)
def test_resolve_with_a_given_today(relative, today, expected):
    assert relative.resolve(today) == expected


def test_resolve_defaults_to_the_local_date():
    assert RelativeDate(0, "d").resolve() == timezone.localdate()
    assert RelativeDate(-1, "d").resolve() == timezone.localdate() - dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("relative", "text"),
    [
        (RelativeDate(0, "d"), "today"),
        (RelativeDate(-90, "d"), "-90d"),
        (RelativeDate(2, "w"), "+2w"),
        (RelativeDate(-6, "m"), "-6m"),
        (RelativeDate(-1, "y"), "-1y"),
    ],
)
def test_str_round_trips(relative, text):
    assert str(relative) == text
    assert parse_relative(str(relative)) == relative


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2023, 1, 31), 1, dt.date(2023, 2, 28)),
        (dt.date(2024, 3, 31), -1, dt.date(2024, 2, 29)),
        (dt.date(2024, 5, 31), -1, dt.date(2024, 4, 30)),
        (dt.date(2024, 12, 15), 1, dt.date(2025, 1, 15)),
        (dt.date(2024, 1, 15), -1, dt.date(2023, 12, 15)),
        (dt.date(2024, 1, 15), -25, dt.date(2021, 12, 15)),
        (dt.date(2024, 6, 30), 0, dt.date(2024, 6, 30)),
        (dt.date(2024, 8, 31), 18, dt.date(2026, 2, 28)),
    ],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


# --- parse_duration_days ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "days"),
    [
        (30, 30),
        (0, 0),
        ("30d", 30),
        (" 30D ", 30),
        ("4w", 28),
        ("6m", 180),
        ("1y", 365),
        ("100y", 36500),
        (36500, 36500),
    ],
)
def test_parse_duration_days(value, days):
    assert parse_duration_days(value) == days


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (True, "expected a duration such as '30d'"),
        (False, "expected a duration such as '30d'"),
        ("x", "expected a duration such as '30d', '4w', '6m' or '1y', got 'x'"),
        ("-30d", "got '-30d'"),
        ("30", "got '30'"),
        (3.5, "got 3.5"),
        (None, "got None"),
        ([30], "got [30]"),
        (-1, "duration out of range: -1"),
        (36501, "duration out of range: 36501"),
        ("99999d", "duration out of range: '99999d'"),
        ("101y", "duration out of range: '101y'"),
    ],
)
def test_parse_duration_days_rejects(value, fragment):
    with pytest.raises(ValueProblem) as info:
        parse_duration_days(value)
    assert fragment in str(info.value)


def test_value_problem_is_a_value_error():
    assert issubclass(ValueProblem, ValueError)


# --- coerce_date / coerce_datetime ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-31", dt.date(2024, 5, 31)),
        (" 2024-05-31 ", dt.date(2024, 5, 31)),
        ("-90d", RelativeDate(-90, "d")),
        ("today", RelativeDate(0, "d")),
    ],
)
def test_coerce_date(value, expected):
    assert coerce_date(value) == expected


@pytest.mark.parametrize(
    "value", ["2024-02-30", "31/05/2024", "yesterday", "-90x", 20240531, None, True, ["-90d"]]
)
def test_coerce_date_rejects(value):
    with pytest.raises(ValueProblem, match=r"expected a date \('2024-05-31'\)"):
        coerce_date(value)


@pytest.mark.parametrize("value", ["-99999y", "+99999m"])
def test_relative_dates_that_cannot_be_resolved_are_refused(value):
    with pytest.raises(ValueProblem, match="relative date out of range"):
        coerce_date(value)
    with pytest.raises(ValueProblem, match="relative date out of range"):
        coerce_datetime(value)


def test_coerce_datetime_naive_is_made_aware_in_the_site_timezone():
    value = coerce_datetime("2024-05-31T10:00")
    assert timezone.is_aware(value)
    assert value == timezone.make_aware(dt.datetime(2024, 5, 31, 10, 0))
    assert value.utcoffset() == dt.timedelta(hours=2)  # Europe/Madrid in summer


def test_coerce_datetime_with_a_space():
    assert coerce_datetime("2024-01-31 08:30") == timezone.make_aware(
        dt.datetime(2024, 1, 31, 8, 30)
    )


def test_coerce_datetime_keeps_an_explicit_offset():
    value = coerce_datetime("2024-05-31T10:00+00:00")
    assert value == dt.datetime(2024, 5, 31, 10, 0, tzinfo=dt.UTC)


def test_coerce_datetime_accepts_dates_and_relative_dates():
    assert coerce_datetime("2024-05-31") == dt.date(2024, 5, 31)
    assert type(coerce_datetime("2024-05-31")) is dt.date
    assert coerce_datetime("-7d") == RelativeDate(-7, "d")


@pytest.mark.parametrize(
    "value", ["2024-05-31T25:00", "31/05/2024", "soon", "2024-05-31 x", 1717149600, None]
)
def test_coerce_datetime_rejects(value):
    with pytest.raises(ValueProblem, match=r"expected a date-time \('2024-05-31T10:00'\)"):
        coerce_datetime(value)


# --- coerce_number / coerce_decimal -----------------------------------------------------------


@pytest.mark.parametrize("value", [0, 5, -3, 2.5, 10**18])
def test_coerce_number(value):
    assert coerce_number(value) == value


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (True, "expected a number, got True"),
        (False, "expected a number, got False"),
        ("5", "expected a number, got '5'"),
        (None, "expected a number, got None"),
        ([1], "expected a number, got [1]"),
        (Decimal("1"), "expected a number"),
        (float("nan"), "expected a finite number"),
        (float("inf"), "expected a finite number"),
        (float("-inf"), "expected a finite number"),
        (2**63, "number out of range"),
        (-(2**63), "number out of range"),
        (1e300, "number out of range"),
        (-1e300, "number out of range"),
    ],
)
def test_coerce_number_rejects(value, fragment):
    with pytest.raises(ValueProblem) as info:
        coerce_number(value)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1000.50", Decimal("1000.50")),
        (" 12 ", Decimal("12")),
        ("-3.25", Decimal("-3.25")),
        ("1e3", Decimal("1000")),
        (1000, Decimal("1000")),
        (99.5, Decimal("99.5")),
        (0.1, Decimal("0.1")),  # via str(), not the binary float
    ],
)
def test_coerce_decimal(value, expected):
    result = coerce_decimal(value)
    assert isinstance(result, Decimal)
    assert result == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (True, "expected a number, got True"),
        (False, "expected a number, got False"),
        ("NaN", "expected a finite number"),
        ("nan", "expected a finite number"),
        ("Infinity", "expected a finite number"),
        ("-inf", "expected a finite number"),
        (float("nan"), "expected a finite number"),
        ("lots", "expected a number, got 'lots'"),
        ("", "expected a number"),
        (None, "expected a finite number, got None"),
        ([1], "expected a finite number, got [1]"),
    ],
)
def test_coerce_decimal_rejects(value, fragment):
    with pytest.raises(ValueProblem) as info:
        coerce_decimal(value)
    assert fragment in str(info.value)


# --- resolve ----------------------------------------------------------------------------------


def test_resolve_leaves_concrete_values_alone():
    day = dt.date(2024, 5, 31)
    assert resolve(day) == day
    assert resolve("dog") == "dog"
    assert resolve(5) == 5
    assert resolve(None) is None


def test_resolve_relative_dates_to_today_in_the_site_timezone():
    today = timezone.localdate()
    assert resolve(RelativeDate(0, "d")) == today
    assert resolve(RelativeDate(-90, "d")) == today - dt.timedelta(days=90)


def test_resolve_lists_recursively():
    today = timezone.localdate()
    assert resolve([RelativeDate(-1, "d"), dt.date(2024, 1, 1)]) == [
        today - dt.timedelta(days=1),
        dt.date(2024, 1, 1),
    ]
    assert resolve(("a", "b")) == ["a", "b"]


def test_resolve_as_datetime_is_local_midnight():
    result = resolve(dt.date(2024, 5, 31), as_datetime=True)
    assert result == timezone.make_aware(dt.datetime(2024, 5, 31, 0, 0))
    assert timezone.is_aware(result)
    relative = resolve(RelativeDate(0, "d"), as_datetime=True)
    assert relative == timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    assert resolve([dt.date(2024, 5, 31)], as_datetime=True) == [result]


def test_resolve_as_datetime_keeps_datetimes():
    moment = timezone.make_aware(dt.datetime(2024, 5, 31, 10, 30))
    assert resolve(moment, as_datetime=True) is moment
