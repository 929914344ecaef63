"""Fixed-window rate limits on Django's cache (shared across processes when the cache is).

Rates are written ``"20/h"`` (per second ``s``, minute ``m``, hour ``h``, day ``d``).
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

from .exceptions import PetmailImproperlyConfigured

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


#: A parsed rate: ``(hits, window in seconds)``.
Rate = tuple[int, int]


def parse_rate(rate: str | None) -> Rate | None:
    """``"20/h"`` → ``(20, 3600)``; ``None`` or ``""`` → no limit."""
    if not rate:
        return None
    try:
        count, unit = str(rate).split("/")
        return int(count), _UNITS[unit.strip()[:1]]
    except (ValueError, KeyError):
        raise PetmailImproperlyConfigured(
            f"Invalid rate {rate!r}: use the form '20/h' (units s, m, h, d)."
        ) from None


def incr_counter(key: str, amount: int = 1, *, timeout: float) -> int:
    """Add ``amount`` to the cache counter ``key`` and return its new value.

    The counter starts at 0 and lives ``timeout`` seconds from its first use. On caches with
    an atomic increment (Redis, memcached) concurrent callers never lose a count; a key that
    expires between the two calls starts again at ``amount``.
    """
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key, amount)
    except ValueError:  # expired between add and incr
        cache.set(key, amount, timeout=timeout)
        return amount


def hit(scope: str, key: str, rate: str | Rate | None) -> bool:
    """Count one hit; ``True`` while within the limit, ``False`` once it is exceeded.

    ``rate`` is ``"20/h"`` or already parsed (as the ``PETMAIL`` rate settings are).
    """
    parsed = rate if isinstance(rate, tuple) else parse_rate(rate)
    if parsed is None:
        return True
    limit, window = parsed
    bucket = int(time.time() // window)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return incr_counter(f"petmail:rl:{scope}:{digest}:{bucket}", timeout=window + 1) <= limit
