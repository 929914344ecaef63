"""Drain a mailing: claim a batch, dispatch it, repeat — until nothing is left, the mailing
may no longer send, or the time budget runs out.

``drain`` only sends. What to do with its result belongs to the caller, which knows the
mailing's lifecycle: a campaign completes when ``done`` and pauses on ``fatal``; a sequence
pauses on ``fatal``; anyone re-queues when ``more``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from ..conf import petmail_settings
from .claims import claim_batch, worker_id
from .dispatch import Renderer, dispatch_batch
from .mailing import Mailing


@dataclass
class DrainResult:
    batches: int = 0
    sent: int = 0
    failed: int = 0
    bounced: int = 0
    skipped: int = 0
    retried: int = 0
    more: bool = False  # stopped with work left (budget, or transient failures to retry)
    done: bool = False  # nothing left to claim
    fatal: str = ""  # the mailing cannot send until someone fixes this
    stopped: bool = False  # the mailing was gone or no longer allowed to send

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def retry_delay(attempt: int) -> int:
    """Seconds before the next pass after transient failures: 1, 2, 4… up to five minutes
    (the one backoff of the package: tasks and the operator command use it)."""
    return int(min(300, 2 ** min(attempt, 9)))


def drain(mailing: Mailing, *, budget_seconds: float | None = None) -> DrainResult:
    result = DrainResult()
    budget = budget_seconds if budget_seconds is not None else petmail_settings.SEND_TIME_BUDGET
    deadline = time.monotonic() + budget
    claimer = worker_id()
    size = petmail_settings.BATCH_SIZE
    renderer = Renderer(mailing)
    while True:
        if not mailing.refresh():
            result.stopped = True
            return result
        ids = claim_batch(mailing, size, claimer)
        if not ids:
            result.done = True
            return result
        batch = dispatch_batch(mailing, ids, renderer)
        result.batches += 1
        result.sent += batch.sent
        result.failed += batch.failed
        result.bounced += batch.bounced
        result.skipped += batch.skipped
        result.retried += len(batch.retry)
        if batch.fatal:
            result.fatal = batch.fatal
            return result
        if batch.retry or time.monotonic() >= deadline:
            result.more = True
            return result
