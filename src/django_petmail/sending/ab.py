"""A/B subject (and content) tests: a deterministic test cohort split evenly between A and
B, then a winner by a two-proportion z-test, sent to everyone else."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, ExpressionWrapper, F, IntegerField, Q, Value
from django.db.models.functions import Mod
from django.utils import timezone

from ..conf import petmail_settings
from ..models import SEND_ACCEPTED, ABVariant, ABWinnerMetric, EmailCampaign, EmailSend, SendStatus

_PRIME = 4294967291  # the largest prime below 2**32


def _stable_order(campaign_id: int) -> Any:
    """A per-campaign pseudo-random but reproducible order of subscriptions (plain integer
    arithmetic, identical on every database).

    The multiplier, not an offset, depends on the campaign: adding a per-campaign offset
    before the modulo only rotates one shared order, so every campaign would test the same
    subscribers."""
    digest = hashlib.sha256(f"petmail-ab:{campaign_id}".encode()).digest()
    multiplier = int.from_bytes(digest[:8], "big") % (_PRIME - 1) + 1
    return Mod(
        ExpressionWrapper(F("subscription_id") * Value(multiplier), output_field=IntegerField()),
        Value(_PRIME),
    )


def assign_cohort(campaign: EmailCampaign) -> tuple[int, int]:
    """Release the test cohort: the first ``ab_test_percent`` % of held sends in the stable
    order, alternately A and B. Returns ``(count_a, count_b)``."""
    held = EmailSend.objects.filter(campaign=campaign, status=SendStatus.HELD)
    total = held.count()
    cohort = round(total * campaign.ab_test_percent / 100)
    if total and campaign.ab_test_percent and cohort < 2:
        cohort = min(2, total)
    size_a = (cohort + 1) // 2
    size_b = cohort - size_a
    ordered = held.annotate(_order=_stable_order(campaign.pk)).order_by("_order", "pk")
    now = timezone.now()
    with transaction.atomic():
        if size_a:
            EmailSend.objects.filter(pk__in=ordered.values("pk")[:size_a]).update(
                status=SendStatus.PENDING, ab_variant=ABVariant.A, updated_at=now
            )
        if size_b:
            still_held = EmailSend.objects.filter(campaign=campaign, status=SendStatus.HELD)
            ordered_b = still_held.annotate(_order=_stable_order(campaign.pk)).order_by(
                "_order", "pk"
            )
            EmailSend.objects.filter(pk__in=ordered_b.values("pk")[:size_b]).update(
                status=SendStatus.PENDING, ab_variant=ABVariant.B, updated_at=now
            )
    return size_a, size_b


@dataclass(frozen=True)
class VariantResult:
    sent: int
    successes: int

    @property
    def rate(self) -> float:
        return self.successes / self.sent if self.sent else 0.0


def two_proportion_p_value(a: VariantResult, b: VariantResult) -> float:
    """Two-sided p-value of the difference between two proportions (pooled z-test)."""
    if not a.sent or not b.sent:
        return 1.0
    pooled = (a.successes + b.successes) / (a.sent + b.sent)
    variance = pooled * (1 - pooled) * (1 / a.sent + 1 / b.sent)
    if variance <= 0:
        return 1.0
    z = (a.rate - b.rate) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def results(campaign: EmailCampaign) -> dict[str, VariantResult]:
    column = (
        "clicked_at" if campaign.ab_winner_metric == ABWinnerMetric.CLICK_RATE else ("opened_at")
    )
    rows = (
        EmailSend.objects.filter(campaign=campaign, ab_variant__in=ABVariant.values)
        .exclude(status__in=[SendStatus.HELD, SendStatus.PENDING, SendStatus.SENDING])
        .values("ab_variant")
        .annotate(
            sent=Count(
                "pk", filter=Q(status__in=SEND_ACCEPTED) | Q(**{f"{column}__isnull": False})
            ),
            successes=Count("pk", filter=Q(**{f"{column}__isnull": False})),
        )
    )
    found = {row["ab_variant"]: VariantResult(row["sent"], row["successes"]) for row in rows}
    return {v: found.get(v, VariantResult(0, 0)) for v in ABVariant.values}


def decide(campaign: EmailCampaign) -> dict[str, Any]:
    """Pick the winner: the better variant if the difference is significant at
    ``PETMAIL["AB_CONFIDENCE"]``, else ``PETMAIL["AB_DEFAULT_WINNER"]``."""
    found = results(campaign)
    p_value = two_proportion_p_value(found[ABVariant.A], found[ABVariant.B])
    confidence = petmail_settings.AB_CONFIDENCE
    default = petmail_settings.AB_DEFAULT_WINNER
    significant = p_value < 1 - confidence and found[ABVariant.A].rate != found[ABVariant.B].rate
    better = ABVariant.A if found[ABVariant.A].rate > found[ABVariant.B].rate else ABVariant.B
    winner = better if significant else default
    return {
        "winner": winner,
        "significant": significant,
        "p_value": round(p_value, 6),
        "confidence": confidence,
        "metric": campaign.ab_winner_metric,
        "variants": {
            key: {"sent": value.sent, "successes": value.successes, "rate": round(value.rate, 6)}
            for key, value in found.items()
        },
    }


def release_winner(campaign: EmailCampaign, winner: str, result: dict[str, Any]) -> int:
    """Record the winner (once) and release every held send with the winning variant."""
    now = timezone.now()
    with transaction.atomic():
        updated = EmailCampaign.objects.filter(pk=campaign.pk, ab_winner="").update(
            ab_winner=winner, ab_decided_at=now, ab_result=result, updated_at=now
        )
        if not updated:
            return 0
        released = EmailSend.objects.filter(campaign=campaign, status=SendStatus.HELD).update(
            status=SendStatus.PENDING, ab_variant=winner, updated_at=now
        )
    campaign.refresh_from_db()
    return released
