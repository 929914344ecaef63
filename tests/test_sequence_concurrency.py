"""On PostgreSQL, two ``process_automated_sequences`` runs and two step workers at the same
time over 5,000 due enrollments: every step is sent exactly once, none is missing (proved
from the outbox and from the send ledger)."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection, connections
from django.test import override_settings

from django_petmail.models import (
    EmailSend,
    EnrollmentStatus,
    NewsletterSubscription,
    SendStatus,
    SequenceEnrollment,
    email_hash,
)
from django_petmail.sequences.delivery import deliver_step
from django_petmail.sequences.enrollment import enroll
from django_petmail.sequences.progression import process
from tests.sequence_utils import make_sequence, step

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ENROLLMENTS = 5000
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def run_at_once(now, steps):
    """Two beats and two workers per step, started together; the workers drain until the
    beats are done and nothing is pending."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)
    beats_done = threading.Event()
    finished = []

    def guarded(fn):
        def run():
            try:
                barrier.wait()
                fn()
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connections.close_all()

        return run

    def beat():
        process(now=now)
        finished.append(1)
        if len(finished) == 2:
            beats_done.set()

    def worker():
        while True:
            done = beats_done.is_set()
            for s in steps:
                deliver_step(s.pk, budget_seconds=60)
            pending = EmailSend.objects.filter(
                sequence_step__in=steps, status=SendStatus.PENDING
            ).exists()
            if done and not pending:
                return

    threads = [threading.Thread(target=guarded(fn)) for fn in (beat, beat, worker, worker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_two_beats_and_two_workers_send_every_step_exactly_once(settings):
    assert connection.vendor == "postgresql"
    NewsletterSubscription.objects.bulk_create(
        [
            NewsletterSubscription(
                email=f"e{i}@example.com",
                email_hash=email_hash(f"e{i}@example.com"),
                status="active",
                topics=["news"],
            )
            for i in range(ENROLLMENTS)
        ],
        batch_size=1000,
    )
    sequence = make_sequence([{}, {"delay_hours": 1}])
    steps = [step(sequence, 1), step(sequence, 2)]
    assert enroll(sequence, NewsletterSubscription.objects.all(), now=T0) == ENROLLMENTS

    petmail = {**settings.PETMAIL, "BATCH_SIZE": 100, "INLINE_CSS": False}
    with override_settings(PETMAIL=petmail):
        run_at_once(T0, steps)
        run_at_once(T0 + timedelta(hours=1), steps)
        process(now=T0 + timedelta(hours=2))  # completes them

    sent = Counter((m.to[0], m.subject) for m in mail.outbox)
    assert len(sent) == 2 * ENROLLMENTS  # nobody missing
    assert set(sent.values()) == {1}  # nobody twice
    for s in steps:
        ledger = EmailSend.objects.filter(sequence_step=s)
        assert ledger.count() == ENROLLMENTS
        assert ledger.filter(status=SendStatus.SENT).count() == ENROLLMENTS
        assert ledger.values("esp_message_id").distinct().count() == ENROLLMENTS
        s.refresh_from_db()
        assert s.sent_count == ENROLLMENTS
    # counted by send id: one message per row of the ledger, each row of it once
    by_send = Counter(m.metadata["send_id"] for m in mail.outbox)
    assert set(by_send.values()) == {1}
    assert set(by_send) == set(EmailSend.objects.values_list("pk", flat=True))
    # the work was shared (two workers, and the beats' own eager sends)
    assert EmailSend.objects.values("claimed_by").distinct().count() >= 2
    assert set(SequenceEnrollment.objects.values_list("status", flat=True).distinct()) == {
        EnrollmentStatus.COMPLETED
    }
