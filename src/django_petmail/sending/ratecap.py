"""A global send-rate cap shared by every worker (through Django's cache: Redis in
production, so all workers count against one budget)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.cache import cache

from ..conf import petmail_settings


def acquire(
    *, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Block until one more message fits in the current second's budget
    (``PETMAIL["RATE_LIMIT_PER_SECOND"]``; 0 or ``None`` means no cap)."""
    limit = int(petmail_settings.RATE_LIMIT_PER_SECOND or 0)
    if limit <= 0:
        return
    while True:
        now = clock()
        second = int(now)
        key = f"petmail:rate:{second}"
        cache.add(key, 0, timeout=5)
        try:
            used = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=5)
            used = 1
        if used <= limit:
            return
        sleep(max(0.0, second + 1 - now))
