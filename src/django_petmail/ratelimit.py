"""Fixed-window rate limits on Django's cache (shared across processes when the cache is).

Rates are written ``"20/h"`` (per second ``s``, minute ``m``, hour ``h``, day ``d``).
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

from .exceptions import PetmailImproperlyConfigured

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
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


def hit(scope: str, key: str, rate: str | None) -> bool:
    """Count one hit; ``True`` while within the limit, ``False`` once it is exceeded."""
    parsed = parse_rate(rate)
    if parsed is None:
        return True
    limit, window = parsed
    bucket = int(time.time() // window)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    cache_key = f"petmail:rl:{scope}:{digest}:{bucket}"
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window + 1)
        count = 1
    return count <= limit
