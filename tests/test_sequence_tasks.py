"""The sequence tasks: the beat's run and the step worker, including a broken account."""

from datetime import timedelta

import pytest
from anymail.exceptions import AnymailConfigurationError
from django.core import mail
from django.test import override_settings
from django.utils import timezone

import django_petmail
from django_petmail import models as pm
from django_petmail import signals, tasks
from django_petmail.sequences.delivery import stalled_steps
from django_petmail.sequences.enrollment import enroll, resume_sequence
from django_petmail.sequences.progression import process
from tests.factories import SubscriptionFactory
from tests.sequence_utils import make_sequence, step

pytestmark = pytest.mark.django_db


class BrokenBackend:
    """An account the ESP refuses (a configuration error: nothing can be sent)."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        raise AnymailConfigurationError("the ESP account is not configured")

    def close(self):
        pass


def test_the_beat_task_enrolls_advances_and_sends():
    sequence = make_sequence(2, trigger_type="purchase")
    sub = SubscriptionFactory()
    django_petmail.trigger("purchase", sub)

    totals = tasks.process_automated_sequences()

    assert totals == {"enrolled": 0, "sends": 1, "skipped": 0, "completed": 0, "paused": 0}
    assert [m.to for m in mail.outbox] == [[sub.email]]
    assert step(sequence, 1).sent_count == 1


def test_a_step_whose_account_is_broken_pauses_its_sequence_and_loses_nothing():
    sequence = make_sequence(1, trigger_type="purchase")
    enroll(sequence, pm.NewsletterSubscription.objects.filter(pk=SubscriptionFactory().pk))
    with override_settings(EMAIL_BACKEND="tests.test_sequence_tasks.BrokenBackend"):
        tasks.process_automated_sequences()
    sequence.refresh_from_db()
    assert not sequence.is_active
    assert "not configured" in sequence.paused_reason
    [send] = pm.EmailSend.objects.filter(sequence_step__sequence=sequence)
    assert send.status == pm.SendStatus.PENDING  # given back, not lost
    assert mail.outbox == []

    resume_sequence(sequence)  # the account is fixed

    assert len(mail.outbox) == 1
    send.refresh_from_db()
    assert send.status == pm.SendStatus.SENT


def test_the_step_worker_of_a_deleted_step_does_nothing():
    assert tasks.send_sequence_email(10**9)["stopped"] is True


def test_only_steps_with_new_sends_are_announced_and_lost_workers_are_found(catch_signal):
    sequence = make_sequence([{}, {"delay_days": 2}], trigger_type="purchase")
    sub = SubscriptionFactory()
    django_petmail.trigger("purchase", sub)
    queued = catch_signal(signals.sends_queued)
    now = timezone.now()
    with override_settings(EMAIL_BACKEND="tests.test_sequence_tasks.BrokenBackend"):
        process(now=now)  # step 1 is created and announced; its worker fails (paused)
    assert [call["pk"] for call in queued] == [step(sequence, 1).pk]
    pm.AutomatedSequence.objects.filter(pk=sequence.pk).update(is_active=True)
    process(now=now + timedelta(hours=1))  # nothing new is due: nothing announced
    assert len(queued) == 1

    later = timezone.now() + timedelta(hours=1)
    assert stalled_steps(900, now=later) == [step(sequence, 1).pk]  # pending, nobody on it
    assert stalled_steps(900) == []  # touched just now
    tasks.resume_stalled_campaigns()  # not yet quiet for the lease: nothing re-queued
    assert len(queued) == 1
