"""A sequence's steps taken together (their numbering, the one rule) and one step rendered
for a sample subscriber (the admin's and the API's preview)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from ..models import AutomatedSequence, NewsletterSubscription, SequenceStep
from ..rendering import build_contexts
from ..rendering.compose import compile_content
from ..sending.dispatch import recipient_context
from ..sending.mailing import StepMailing
from .enrollment import audience


def numbering_errors(numbers: Iterable[int]) -> list[str]:
    """Problems of a sequence's step numbers: 1, 2, 3… each once, no gap (``current_step``
    0 means "no step yet", so a step 0 would never be sent)."""
    counts = Counter(numbers)
    errors = []
    repeated = sorted(n for n, times in counts.items() if times > 1)
    if repeated:
        errors.append(
            gettext("step numbers used more than once: %(numbers)s")
            % {"numbers": ", ".join(map(str, repeated))}
        )
    if any(n < 1 for n in counts):
        errors.append(gettext("step numbers start at 1"))
    missing = sorted(set(range(1, max(counts, default=0) + 1)) - set(counts))
    if missing:
        errors.append(
            gettext("step numbers have gaps; missing: %(numbers)s")
            % {"numbers": ", ".join(map(str, missing))}
        )
    return errors


def step_errors(steps: Iterable[Any]) -> dict[str, list[str]]:
    """Field → problems of a sequence's steps taken together (empty when they can run).

    A step's own ``clean()`` cannot see its siblings (an inline formset renumbers several at
    once): the admin and the API call this on the whole set before saving.
    """
    steps = list(steps)
    errors: dict[str, list[str]] = {}
    numbering = numbering_errors(s.step_number for s in steps)
    if numbering:
        errors["step_number"] = numbering
    for field in ("delay_days", "delay_hours"):
        negative = sorted(s.step_number for s in steps if (getattr(s, field) or 0) < 0)
        if negative:
            errors.setdefault(field, []).append(
                gettext("must not be negative (step %(numbers)s)")
                % {"numbers": ", ".join(map(str, negative))}
            )
    return errors


def validate_steps(sequence: AutomatedSequence, steps: Iterable[Any] | None = None) -> None:
    """Raise ``ValidationError`` naming the field if the sequence's steps (``steps``, or
    those stored) cannot run as a sequence."""
    errors = step_errors(sequence.steps.all() if steps is None else steps)
    if errors:
        raise ValidationError(errors)


def step_sample_context(step: SequenceStep, subscription: Any = None) -> dict[str, Any]:
    """Context for a step's preview: a chosen subscriber, else the first one who may enter the
    sequence, else a fictional one built from the adapter's fallbacks (as
    ``campaigns.content.sample_context`` does for a campaign)."""
    if subscription is None:
        subscription = audience(step.sequence).select_related("owner").order_by("pk").first()
    if subscription is None:
        subscription = NewsletterSubscription(pk=0, email="preview@example.com", language="es")
    base = build_contexts([subscription]).get(subscription.pk, {})
    return recipient_context(subscription, None, base)


def step_preview(step: SequenceStep, subscription: Any = None) -> dict[str, Any]:
    """The step rendered for one subscriber, plus the names its content uses that nothing
    provides (they render empty). Raises ``TemplateError`` for content that does not
    compile."""
    content = compile_content(**StepMailing(step).parts("A"))
    context = step_sample_context(step, subscription)
    missing: set[str] = set()
    rendered = content.render(context, missing)
    return {
        "subject": rendered.subject,
        "preview_text": rendered.preview,
        "html": rendered.html,
        "text": rendered.text,
        "unknown_tokens": sorted(missing),
    }


def step_numbers(sequence: AutomatedSequence, *, exclude: int | None = None) -> list[int]:
    steps = SequenceStep.objects.filter(sequence=sequence)
    if exclude is not None:
        steps = steps.exclude(pk=exclude)
    return list(steps.values_list("step_number", flat=True))
