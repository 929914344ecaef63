"""Helpers shared by the sequence tests: a sequence with its steps, and who got what."""

from __future__ import annotations

from typing import Any

from django.core import mail

from django_petmail import models as pm
from tests.factories import SequenceFactory, StepFactory


def make_sequence(steps: int | list[dict[str, Any]] = 1, **fields: Any) -> pm.AutomatedSequence:
    """A sequence with ``steps`` steps (a count, or the fields of each step, numbered 1…)."""
    sequence = SequenceFactory(**fields)
    specs = [{} for _ in range(steps)] if isinstance(steps, int) else steps
    for number, spec in enumerate(specs, start=1):
        spec = {"subject": f"Paso {number}", "html_content": f"<p>Paso {number}</p>", **spec}
        spec.setdefault("step_number", number)
        StepFactory(sequence=sequence, **spec)
    return sequence


def step(sequence: pm.AutomatedSequence, number: int) -> pm.SequenceStep:
    return pm.SequenceStep.objects.get(sequence=sequence, step_number=number)


def subjects_to(address: str) -> list[str]:
    """The subjects of the messages sent to ``address``, in order."""
    return [m.subject for m in mail.outbox if m.to == [address]]


def enrollment_of(sequence: pm.AutomatedSequence, subscription: Any) -> pm.SequenceEnrollment:
    return pm.SequenceEnrollment.objects.get(
        sequence=sequence, subscription=subscription, status__in=["active", "paused"]
    )
