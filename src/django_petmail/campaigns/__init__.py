"""Campaigns: the lifecycle (``lifecycle``), what they say (``content``), watching them
(``monitoring``) and sending their queued sends (``delivery``). Import from here."""

from ..sending.fanout import AudienceBreakdown, audience_breakdown
from .content import (
    compiled,
    content_errors,
    ensure_ready,
    preview,
    sample_context,
    send_test,
    topic_error,
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
from .monitoring import (
    ab_tests_ready,
    due_campaigns,
    progress,
    stalled_campaigns,
    waiting_for_worker,
)

__all__ = [
    "AudienceBreakdown",
    "ab_tests_ready",
    "audience_breakdown",
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
    "topic_error",
    "transition",
    "unknown_tokens",
    "waiting_for_worker",
]
