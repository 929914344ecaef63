from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

import django_petmail
from django_petmail import models as pm
from django_petmail.sequences.progression import process
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_welcome_series_runs():
    seq = pm.AutomatedSequence.objects.create(name="welcome", trigger_type="signup")
    pm.SequenceStep.objects.create(sequence=seq, step_number=1, subject="Hola {{ first_name }}", html_content="<p>Uno</p>")
    pm.SequenceStep.objects.create(sequence=seq, step_number=2, delay_days=2, subject="Dos", html_content="<p>Dos</p>")
    sub = SubscriptionFactory()
    res = django_petmail.trigger("signup", sub)
    assert res.enrolled == {seq.pk: 1}
    now = timezone.now()
    r = process(now=now)
    print(r)
    assert len(mail.outbox) == 1
    r = process(now=now + timedelta(days=1))
    assert len(mail.outbox) == 1
    r = process(now=now + timedelta(days=2, minutes=1))
    print(r, list(pm.SequenceEnrollment.objects.values("current_step","next_send_at","status")), now, list(pm.EmailSend.objects.values("status","sequence_step_id", "error_message")))
    assert len(mail.outbox) == 2
    r = process(now=now + timedelta(days=3))
    e = pm.SequenceEnrollment.objects.get()
    assert e.status == "completed"
    step1 = pm.SequenceStep.objects.get(step_number=1)
    assert step1.sent_count == 1
