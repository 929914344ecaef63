"""Customer segments: saved rules, cached counts, and static snapshots."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ..exceptions import RuleValidationError
from .subscriptions import NewsletterSubscription


class CustomerSegment(models.Model):
    """A saved audience: JSON rules compiled to one query of eligible subscriptions.

    A dynamic segment is evaluated when used; a static one (``is_dynamic=False``) is the
    frozen membership in :class:`SegmentMembership` taken at ``snapshot_at``.
    """

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    description = models.TextField(_("description"), blank=True)
    rules = models.JSONField(_("rules"), default=dict, blank=True)

    member_count = models.IntegerField(_("members"), default=0)
    last_calculated = models.DateTimeField(_("calculated at"), null=True, blank=True)

    is_dynamic = models.BooleanField(_("dynamic"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    snapshot_at = models.DateTimeField(_("snapshot taken at"), null=True, blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name

    @property
    def is_frozen(self) -> bool:
        """Whether members come from the snapshot (:class:`SegmentMembership`), not the rules.

        A static segment that was never snapshotted still follows its rules.
        """
        return not self.is_dynamic and self.snapshot_at is not None

    def clean(self) -> None:
        """Reject rules that do not validate, listing each problem with its JSON path."""
        # the segment service imports this module: looked up when called, not at import
        from ..segments.service import rules_q

        try:
            rules_q(self.rules)
        except RuleValidationError as exc:
            raise ValidationError(
                {"rules": [f"{path}: {message}" for path, message in exc.errors]}
            ) from exc

    def get_members(self) -> QuerySet[NewsletterSubscription]:
        """Current eligible members (the design's entry point)."""
        # the segment service imports this module: looked up when called, not at import
        from ..segments.service import segment_members

        return segment_members(self)


class SegmentMembership(models.Model):
    """Frozen membership of a static segment."""

    segment = models.ForeignKey(
        CustomerSegment, on_delete=models.CASCADE, related_name="memberships"
    )
    subscription = models.ForeignKey(
        NewsletterSubscription, on_delete=models.CASCADE, related_name="segment_memberships"
    )
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "subscription"], name="petmail_unique_segment_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.subscription_id}"
