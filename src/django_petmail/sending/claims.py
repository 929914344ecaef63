"""Claiming: pending → sending by exactly one worker, before any message leaves.

PostgreSQL locks the chosen rows and skips rows another worker holds (``FOR UPDATE SKIP
LOCKED``), so workers never wait on each other. Elsewhere a conditional ``UPDATE … WHERE
status = 'pending'`` makes a row claimable once. Either way a row is in at most one batch.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import EmailSend, SendStatus
from .mailing import Mailing


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim_batch(mailing: Mailing, size: int, claimer: str | None = None) -> list[int]:
    """Claim up to ``size`` pending sends of a mailing that may send; returns their ids."""
    claimer = claimer or worker_id()
    now = timezone.now()
    pending = EmailSend.objects.filter(mailing.claimable(), status=SendStatus.PENDING).order_by(
        "pk"
    )
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            ids = list(
                pending.select_for_update(skip_locked=True, of=("self",)).values_list(
                    "pk", flat=True
                )[:size]
            )
        else:
            ids = list(pending.values_list("pk", flat=True)[:size])
        if not ids:
            return []
        claimed = EmailSend.objects.filter(Q(pk__in=ids), status=SendStatus.PENDING).update(
            status=SendStatus.SENDING, claimed_at=now, claimed_by=claimer[:200], updated_at=now
        )
    if claimed == len(ids):  # always so under row locks; elsewhere, when nobody raced us
        return ids
    return list(
        EmailSend.objects.filter(pk__in=ids, claimed_by=claimer[:200], status=SendStatus.SENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def release(send_ids: list[int], *, error: str = "") -> int:
    """Give claimed sends back (a transient failure); they will be claimed again."""
    now = timezone.now()
    return EmailSend.objects.filter(pk__in=send_ids, status=SendStatus.SENDING).update(
        status=SendStatus.PENDING,
        claimed_at=None,
        claimed_by="",
        error_message=error[:2000],
        updated_at=now,
    )


def reap_stuck(lease_seconds: int) -> list[int]:
    """Sends claimed longer than the lease ago are in doubt: the worker died mid-batch and
    the message may or may not have left. Mark them ``unknown`` (never resend silently)."""
    cutoff = timezone.now() - timedelta(seconds=lease_seconds)
    stuck = EmailSend.objects.filter(status=SendStatus.SENDING, claimed_at__lt=cutoff)
    ids = list(stuck.values_list("pk", flat=True))
    if ids:
        EmailSend.objects.filter(pk__in=ids, status=SendStatus.SENDING).update(
            status=SendStatus.UNKNOWN,
            error_message="claimed by a worker that did not finish (lease expired)",
            updated_at=timezone.now(),
        )
    return ids
