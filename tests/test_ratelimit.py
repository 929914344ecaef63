"""Fixed-window rate limits on the cache."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from django_petmail.ratelimit import hit, incr_counter, parse_rate


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("20/h", (20, 3600)),
        ("5/m", (5, 60)),
        ("1/s", (1, 1)),
        ("3/day", (3, 86400)),
        (None, None),
        ("", None),
    ],
)
def test_parse_rate(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["20", "x/h", "20/fortnight", "1/2/3"])
def test_invalid_rate_names_the_form(rate):
    with pytest.raises(ImproperlyConfigured, match="use the form '20/h'"):
        parse_rate(rate)


def test_limit_is_per_scope_and_key():
    cache.clear()
    assert [hit("ip", "1.2.3.4", "2/h") for _ in range(3)] == [True, True, False]
    assert hit("ip", "5.6.7.8", "2/h")
    assert hit("address", "1.2.3.4", "2/h")


def test_no_limit_always_allows():
    assert all(hit("ip", "x", None) for _ in range(50))


def test_counter_evicted_between_add_and_incr(monkeypatch):
    cache.clear()

    def add_then_evict(key, value, timeout=None):
        return True  # pretend the key was added, but it is not there: incr raises ValueError

    monkeypatch.setattr(cache, "add", add_then_evict)
    assert hit("ip", "9.9.9.9", "1/h")


def test_hit_takes_a_parsed_rate_like_the_settings_give():
    cache.clear()
    assert [hit("ip", "4.4.4.4", (1, 3600)) for _ in range(2)] == [True, False]


def test_incr_counter_adds_blocks_and_starts_at_zero():
    cache.clear()
    assert incr_counter("petmail:test:counter", timeout=5) == 1
    assert incr_counter("petmail:test:counter", 10, timeout=5) == 11
    assert cache.get("petmail:test:counter") == 11


def test_incr_counter_restarts_a_counter_evicted_between_add_and_incr(monkeypatch):
    cache.clear()
    monkeypatch.setattr(cache, "add", lambda key, value, timeout=None: True)
    assert incr_counter("petmail:test:evicted", 7, timeout=5) == 7
    assert cache.get("petmail:test:evicted") == 7
