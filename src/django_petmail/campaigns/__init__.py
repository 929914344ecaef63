"""Campaigns: the lifecycle (``lifecycle``), what they say (``content``), watching them
(``monitoring``) and sending their queued sends (``delivery``). Import from here."""

from .content import (
    compiled,
    content_errors,
    ensure_ready,
    preview,
    sample_context,
    send_test,
    unknown_tokens,
)
from .delivery import deliver
from .lifecycle import (
    cancel,
    enqueue_sending,
    maybe_complete,
    pause,
    resume,
    schedule,
    set_winner,
    start,
    transition,
)
from .monitoring import ab_tests_ready, due_campaigns, progress, stalled_campaigns

__all__ = [
    "ab_tests_ready",
    "cancel",
    "compiled",
    "content_errors",
    "deliver",
    "due_campaigns",
    "enqueue_sending",
    "ensure_ready",
    "maybe_complete",
    "pause",
    "preview",
    "progress",
    "resume",
    "sample_context",
    "schedule",
    "send_test",
    "set_winner",
    "stalled_campaigns",
    "start",
    "transition",
    "unknown_tokens",
]
