"""Celery tasks (the ``celery`` extra). They take ids, read settings when they run, and are
safe to run twice. Names are explicit so schedules and monitoring survive refactors.

This is the top of the import graph with receivers, admin and API: it calls services and
nothing below imports it (workers are queued by the ``sends_queued`` receiver).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from celery import shared_task
from django.core.exceptions import ValidationError

from . import campaigns, subscribers_csv
from .conf import petmail_settings
from .exceptions import InvalidTransition
from .models import CampaignStatus, CustomerSegment, EmailCampaign, EmailSend
from .segments.service import refresh_counts
from .sending.ab import decide, release_winner
from .sending.claims import reap_stuck
from .sending.worker import DrainResult, retry_delay
from .sequences.delivery import deliver_step, stalled_steps
from .sequences.enrollment import announce_steps
from .sequences.progression import process

logger = logging.getLogger(__name__)


@shared_task(name="django_petmail.tasks.update_segment_counts", ignore_result=True)
def update_segment_counts(segment_ids: list[int] | None = None) -> dict[str, Any]:
    """Refresh ``member_count``/``last_calculated`` of active segments (or of ``segment_ids``).
    Run it periodically with django-celery-beat (``manage.py petmail_schedule``)."""
    segments = CustomerSegment.objects.filter(is_active=True)
    if segment_ids is not None:

        def valid(pk: Any) -> bool:
            if isinstance(pk, str):
                return pk.isdigit()
            return isinstance(pk, int) and not isinstance(pk, bool)

        if not isinstance(segment_ids, list | tuple) or not all(map(valid, segment_ids)):
            raise ValueError(f"segment_ids must be a list of integer ids, got {segment_ids!r}")
        segments = segments.filter(pk__in=[int(pk) for pk in segment_ids])
    counts = refresh_counts(segments)
    return {"refreshed": len(counts), "invalid": sorted(k for k, v in counts.items() if v is None)}


def _requeue(task: Any, pk: int, attempt: int, result: DrainResult) -> None:
    """Queue the task again when work is left: at once after a time budget ran out, after a
    backoff when sends failed transiently."""
    if not result.more:
        return
    eager = bool(getattr(task.app.conf, "task_always_eager", False))
    if eager and result.retried and attempt >= petmail_settings.MAX_RETRIES:
        return  # in-process: stop; the sends are retried on resume or by the stalled check
    next_attempt = attempt + 1 if result.retried else 0
    task.apply_async((pk, next_attempt), countdown=retry_delay(attempt) if result.retried else 0)


def _budget(task: Any) -> float | None:
    # in-process (eager) a task cannot re-queue itself for later: drain without a budget
    return 10**9 if getattr(task.app.conf, "task_always_eager", False) else None


@shared_task(
    name="django_petmail.tasks.send_campaign_batch", bind=True, acks_late=True, ignore_result=True
)
def send_campaign_batch(self: Any, campaign_id: int, attempt: int = 0) -> dict[str, Any]:
    """Claim and send batches of a campaign until done or out of time, then re-queue.

    Safe to run many times at once (claims are exclusive) and to run again after a crash
    (only pending sends are claimed; a dead worker's claims are reaped, not resent).
    """
    result = campaigns.deliver(int(campaign_id), budget_seconds=_budget(self))
    _requeue(send_campaign_batch, int(campaign_id), attempt, result)
    if result.fatal:
        logger.error("campaign %s paused: %s", campaign_id, result.fatal)
    return result.as_dict()


@shared_task(
    name="django_petmail.tasks.send_sequence_email", bind=True, acks_late=True, ignore_result=True
)
def send_sequence_email(self: Any, step_id: int, attempt: int = 0) -> dict[str, Any]:
    """Send the due emails of one sequence step: the same claims, dispatch and recording as
    a campaign batch (one pipeline), re-queued the same way."""
    result = deliver_step(int(step_id), budget_seconds=_budget(self))
    _requeue(send_sequence_email, int(step_id), attempt, result)
    if result.fatal:
        logger.error("sequence step %s: its sequence was paused: %s", step_id, result.fatal)
    return result.as_dict()


@shared_task(name="django_petmail.tasks.process_automated_sequences", ignore_result=True)
def process_automated_sequences() -> dict[str, int]:
    """Enroll whom scheduled triggers find and advance due enrollments by one step each
    (exactly once, whoever else runs this at the same time); step sends go to
    ``send_sequence_email`` workers."""
    return process().totals


@shared_task(name="django_petmail.tasks.start_due_campaigns", ignore_result=True)
def start_due_campaigns() -> list[int]:
    """Start scheduled campaigns whose time has come (each starts once, whoever runs this)."""
    started = []
    for pk in campaigns.due_campaigns():
        campaign = EmailCampaign.objects.get(pk=pk)
        try:
            campaigns.start(campaign)
        except InvalidTransition:
            continue  # someone else started (or cancelled) it
        except ValidationError as exc:
            # Broken since it was scheduled (e.g. its segment's rules): back to draft, so
            # staff see it and the task does not retry it every minute.
            logger.error("scheduled campaign %s cannot start, back to draft: %s", pk, exc)
            with contextlib.suppress(InvalidTransition):
                campaigns.transition(campaign, CampaignStatus.DRAFT)
            continue
        except Exception:  # an unexpected failure must not block the other campaigns
            logger.exception("could not start scheduled campaign %s", pk)
            continue
        started.append(pk)
    return started


@shared_task(name="django_petmail.tasks.pick_ab_winners", ignore_result=True)
def pick_ab_winners() -> dict[int, str]:
    """Decide A/B tests whose wait window is over and send the winner to the rest."""
    decided = {}
    for pk in campaigns.ab_tests_ready():
        campaign = EmailCampaign.objects.get(pk=pk)
        outcome = decide(campaign)
        if release_winner(campaign, outcome["winner"], outcome) or campaign.ab_winner:
            decided[pk] = campaign.ab_winner
            campaigns.enqueue_sending(campaign)
    return decided


@shared_task(name="django_petmail.tasks.reap_stuck_sends", ignore_result=True)
def reap_stuck_sends() -> list[int]:
    """Mark sends claimed longer than ``SEND_LEASE_SECONDS`` ago as ``unknown`` and report
    them; never resend them silently."""
    ids = reap_stuck(petmail_settings.SEND_LEASE_SECONDS)
    if ids:
        # a campaign whose last open sends were just reaped has nothing left to send
        affected = EmailSend.objects.filter(pk__in=ids, campaign__isnull=False).values(
            "campaign_id"
        )
        for campaign in EmailCampaign.objects.filter(pk__in=affected):
            campaigns.maybe_complete(campaign)
        logger.warning(
            "%d sends were in flight when their worker stopped; marked unknown: %s",
            len(ids),
            ids[:50],
        )
    return ids


@shared_task(name="django_petmail.tasks.resume_stalled_campaigns", ignore_result=True)
def resume_stalled_campaigns() -> list[int]:
    """Queue batch workers again for sending campaigns whose pending sends nobody is
    working on (lost tasks), and for sequence steps with pending sends; harmless when they
    are only slow, since claims are exclusive."""
    ids = campaigns.stalled_campaigns(petmail_settings.SEND_LEASE_SECONDS)
    for campaign in EmailCampaign.objects.filter(pk__in=ids):
        logger.warning("campaign %s had pending sends and no activity; re-queued", campaign.pk)
        campaigns.enqueue_sending(campaign)
    steps = stalled_steps(petmail_settings.SEND_LEASE_SECONDS)
    if steps:
        logger.warning("sequence steps %s had pending sends and no activity; re-queued", steps)
        announce_steps(steps)
    return ids


@shared_task(name="django_petmail.tasks.import_subscribers", ignore_result=True)
def import_subscribers(import_id: str) -> dict[str, Any]:
    """Import an uploaded subscriber CSV, storing progress in the cache after every batch.
    Running it again after it finished returns the stored result."""
    state = subscribers_csv.run_import(str(import_id))
    return {key: state[key] for key in ("status", "rows", "created", "updated", "error_count")}
