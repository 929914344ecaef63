"""Helpers the sequence admin and API share: a step's preview for a sample subscriber, and
the checks of a sequence's step numbering.

They belong with ``sequences/`` (the runner's package); they live here until that package
takes them, so that the admin and the API do not depend on each other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext

from .models import AutomatedSequence, NewsletterSubscription, SequenceStep
from .rendering import build_contexts
from .rendering.compose import compile_content
from .sending.dispatch import recipient_context
from .sending.mailing import StepMailing


def step_sample_context(step: SequenceStep, subscription: Any = None) -> dict[str, Any]:
    """Context for a step's preview: a chosen subscriber, else the first one who may enter the
    sequence, else a fictional one built from the adapter's fallbacks (as
    ``campaigns.content.sample_context`` does for a campaign)."""
    from .sequences.enrollment import audience

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


def numbering_errors(numbers: Iterable[int]) -> list[str]:
    """Problems of a sequence's step numbers: they must be 1, 2, … n, each once."""
    counts = Counter(numbers)
    errors = []
    seen = set(counts)
    duplicated = sorted(n for n, times in counts.items() if times > 1)
    if duplicated:
        errors.append(
            gettext("Step numbers are repeated: %(numbers)s.")
            % {"numbers": ", ".join(map(str, duplicated))}
        )
    expected = set(range(1, len(seen) + 1))
    missing = sorted(expected - seen)
    extra = sorted(seen - expected)
    if missing or extra:
        errors.append(
            gettext("Number the steps 1 to %(n)d without gaps; missing: %(missing)s.")
            % {"n": len(seen), "missing": ", ".join(map(str, missing)) or "—"}
        )
    return errors


def step_numbers(sequence: AutomatedSequence, *, exclude: int | None = None) -> list[int]:
    steps = SequenceStep.objects.filter(sequence=sequence)
    if exclude is not None:
        steps = steps.exclude(pk=exclude)
    return list(steps.values_list("step_number", flat=True))
