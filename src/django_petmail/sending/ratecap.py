"""A global send-rate cap shared by every worker (through Django's cache: Redis in
production, so all workers count against one budget).

The budget is one counter per wall-clock second. A worker reserves tokens in blocks (one
``INCRBY`` per block, not two round trips per message), so the cap costs a few cache calls
per second however fast the worker sends. Tokens left over when the second ends are dropped:
the cap can be undershot a little, never exceeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..conf import petmail_settings
from ..ratelimit import incr_counter


class RateBudget:
    """One worker's share of the global per-second budget (``RATE_LIMIT_PER_SECOND``;
    0 or ``None`` means no cap).

    ``block``: tokens reserved per cache call; by default the limit divided by
    ``SEND_CONCURRENCY``, so concurrent workers share a second fairly, and never more than
    ``messages`` (what the caller will send at most), so a small batch wastes no tokens.
    """

    def __init__(
        self,
        block: int | None = None,
        *,
        messages: int | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = petmail_settings.RATE_LIMIT_PER_SECOND
        workers = petmail_settings.SEND_CONCURRENCY
        block = block if block is not None else self.limit // workers
        self.block = max(1, min(block, messages) if messages is not None else block)
        self._clock, self._sleep = clock, sleep
        self._second: int | None = None
        self._left = 0

    def acquire(self) -> None:
        """Block until one more message fits in the current second's budget."""
        if self.limit <= 0:
            return
        while True:
            now = self._clock()
            second = int(now)
            if second == self._second and self._left > 0:
                self._left -= 1
                return
            got = self._reserve(second)
            if got:
                self._second, self._left = second, got - 1
                return
            self._sleep(max(0.0, second + 1 - now))

    def _reserve(self, second: int) -> int:
        """Take up to ``block`` tokens of ``second``; returns how many were left to take."""
        used = incr_counter(f"petmail:rate:{second}", self.block, timeout=5)
        return max(0, min(self.block, self.limit - (used - self.block)))


def acquire(
    *, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Take one token (a one-off send; a batch keeps a :class:`RateBudget`)."""
    RateBudget(1, clock=clock, sleep=sleep).acquire()
