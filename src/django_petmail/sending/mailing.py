"""What is being sent: a campaign, or one step of an automated sequence.

Claims, dispatch, the recording of outcomes, the reaper and tracking are written once, over
:class:`Mailing`; a fix to any of them reaches campaigns and sequences alike. A mailing says
which sends are its own, when they may be claimed, who may still receive them, what its
content is, and which row holds its counters. It knows nothing of lifecycles: the caller of
:func:`~django_petmail.sending.worker.drain` completes or pauses what it was draining.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import StrEnum
from typing import Any

from django.db.models import F, Model, Q, QuerySet

from ..models import (
    AutomatedSequence,
    CampaignStatus,
    EmailCampaign,
    EmailSend,
    EnrollmentStatus,
    NewsletterSubscription,
    SequenceStep,
)
from ..rendering.compose import campaign_parts
from ..segments.lookups import JSONListContains
from ..segments.service import eligible_subscriptions, reachable_subscriptions


class MailingKind(StrEnum):
    CAMPAIGN = "campaign"
    STEP = "step"


class Mailing(ABC):
    """One source of sends. Subclasses wrap a model instance (``obj``)."""

    kind: MailingKind
    obj: Any

    @property
    def pk(self) -> int:
        return int(self.obj.pk)

    @property
    def tag(self) -> str:
        """The ESP tag of every message (``campaign-12``, ``step-7``)."""
        return f"{self.kind}-{self.pk}"

    @abstractmethod
    def sends(self) -> Q:
        """This mailing's rows of the send ledger."""

    @abstractmethod
    def claimable(self) -> Q:
        """Which of its pending sends may be claimed now."""

    @abstractmethod
    def refresh(self) -> bool:
        """Re-read the mailing; ``False`` when it is gone or may no longer send."""

    @abstractmethod
    def recipients(self) -> QuerySet[NewsletterSubscription]:
        """Who may still receive it (the re-check at send time)."""

    @abstractmethod
    def parts(self, variant: str) -> dict[str, Any]:
        """``compile_content`` arguments for a variant."""

    @property
    def from_email(self) -> str:
        return ""

    def metadata(self) -> dict[str, Any]:
        return {f"{self.kind}_id": self.pk}

    def recipient_extras(self, send_ids: list[int]) -> dict[int, dict[str, Any]]:
        """Per-send template values beyond the subscriber's own (one query per batch)."""
        return {}

    def counter_rows(self) -> QuerySet[Any]:
        """The row whose counters move with its sends' outcomes."""
        model: type[Model] = type(self.obj)
        return model._default_manager.filter(pk=self.pk)

    def add_to_counters(self, **counts: int) -> None:
        """``counter += n`` for each non-zero count, atomically."""
        changes = {name: F(name) + n for name, n in counts.items() if n}
        if changes:
            self.counter_rows().update(**changes)


class CampaignMailing(Mailing):
    kind = MailingKind.CAMPAIGN

    def __init__(self, campaign: EmailCampaign) -> None:
        self.obj = campaign

    def sends(self) -> Q:
        return Q(campaign_id=self.pk)

    def claimable(self) -> Q:
        return self.sends() & Q(campaign__status=CampaignStatus.SENDING)

    def refresh(self) -> bool:
        campaign = EmailCampaign.objects.select_related("template").filter(pk=self.pk).first()
        if campaign is None:
            return False
        self.obj = campaign
        return campaign.status == CampaignStatus.SENDING

    def recipients(self) -> QuerySet[NewsletterSubscription]:
        return eligible_subscriptions()

    def parts(self, variant: str) -> dict[str, Any]:
        return campaign_parts(self.obj, variant)

    @property
    def from_email(self) -> str:
        return str(self.obj.from_email or "")


class StepMailing(Mailing):
    """A sequence step: its sends are created when enrollments reach it, and claimed while
    the sequence is active and the enrollment is not paused (an enrollment completes when
    its last step's send is created; cancelling one cancels its waiting sends)."""

    kind = MailingKind.STEP

    def __init__(self, step: SequenceStep) -> None:
        self.obj = step

    def sends(self) -> Q:
        return Q(sequence_step_id=self.pk)

    def claimable(self) -> Q:
        return (
            self.sends()
            & Q(sequence_step__sequence__is_active=True)
            & ~Q(enrollment__status=EnrollmentStatus.PAUSED)
        )

    def refresh(self) -> bool:
        step = (
            SequenceStep.objects.select_related("sequence", "template").filter(pk=self.pk).first()
        )
        if step is None:
            return False
        self.obj = step
        return bool(step.sequence.is_active)

    def recipients(self) -> QuerySet[NewsletterSubscription]:
        return sequence_recipients(self.obj.sequence)

    def parts(self, variant: str) -> dict[str, Any]:
        step = self.obj
        return {
            "subject": step.subject,
            "html": step.html_content or getattr(step.template, "html_content", ""),
            "text": step.text_content,
            "preview_text": step.preview_text,
            "template": step.template,
        }

    def metadata(self) -> dict[str, Any]:
        return {"step_id": self.pk, "sequence_id": self.obj.sequence_id}

    def recipient_extras(self, send_ids: list[int]) -> dict[int, dict[str, Any]]:
        """The data the trigger was fired with (``trigger(name, owner, amount=…)``), as
        ``{{ trigger.amount }}`` in the step's templates."""
        rows = EmailSend.objects.filter(pk__in=send_ids).values_list("pk", "enrollment__context")
        return {pk: {"trigger": context or {}} for pk, context in rows}


def sequence_recipients(sequence: AutomatedSequence) -> QuerySet[NewsletterSubscription]:
    """Who may receive a sequence's mail: for marketing sequences the campaign rules
    (active, not paused, not suppressed, the topic chosen); for service sequences
    (``is_marketing=False``, e.g. vaccination reminders) any confirmed address that has not
    bounced, complained or been suppressed, unsubscribed from marketing or not."""
    if not sequence.is_marketing:
        return reachable_subscriptions(marketing=False)
    base = eligible_subscriptions()
    if sequence.topic:
        base = base.filter(JSONListContains(F("topics"), sequence.topic))
    return base


def mailing_of(send: EmailSend) -> Mailing | None:
    """The mailing a send belongs to (for the view-online page)."""
    if send.campaign_id and send.campaign is not None:
        return CampaignMailing(send.campaign)
    if send.sequence_step_id and send.sequence_step is not None:
        return StepMailing(send.sequence_step)
    return None
