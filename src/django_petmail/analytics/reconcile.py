"""Counters against the ledger: recompute every campaign's and step's counters from its sends
and report (or repair) where they drifted.

Counters move with atomic ``F()`` updates in the transaction that moves the send, so they
should never drift; this is the proof, and the repair if a bug or a manual edit ever made them.
What each counter is, read from the ledger:

- ``sent_count``, ``delivered_count``, ``open_count``, ``click_count``, ``bounce_count``:
  sends with ``sent_at``, ``delivered_at``, ``opened_at``, ``clicked_at``, ``bounced_at``
  (the first timestamp of its kind is what tracking counts once);
- ``complaint_count``, ``unsubscribe_count``, ``failed_count``: sends in that status (the
  states are terminal: only the event that moved the send there counted it).

``conversion_count`` and ``revenue_attributed`` come from the host's orders, not from the
send ledger, and are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Model, Q

from ..models import BounceType, EmailCampaign, EmailSend, SendStatus, SequenceStep
from ..sending.mailing import MailingKind
from .reports import _Data

#: Each recomputed counter and the sends it counts.
RECOMPUTED: dict[str, Q] = {
    "sent_count": Q(sent_at__isnull=False),
    "delivered_count": Q(delivered_at__isnull=False),
    "open_count": Q(opened_at__isnull=False),
    "click_count": Q(clicked_at__isnull=False),
    "bounce_count": Q(bounced_at__isnull=False) & ~Q(bounce_type=BounceType.SUPPRESSED),
    "complaint_count": Q(status=SendStatus.COMPLAINED),
    "unsubscribe_count": Q(status=SendStatus.UNSUBSCRIBED),
    "failed_count": Q(status=SendStatus.FAILED),
}

#: The mailings whose counters are reconciled: (kind, model, the send's foreign key).
_MAILINGS: tuple[tuple[str, type[Model], str], ...] = (
    (MailingKind.CAMPAIGN, EmailCampaign, "campaign_id"),
    (MailingKind.STEP, SequenceStep, "sequence_step_id"),
)


@dataclass(frozen=True)
class Drift(_Data):
    """One counter of one campaign or step that does not match its sends."""

    kind: str
    object_id: int
    name: str
    counter: str
    stored: int
    recomputed: int

    def __str__(self) -> str:
        return (
            f"{self.kind} {self.object_id} ({self.name}): {self.counter} "
            f"stored {self.stored}, ledger {self.recomputed}"
        )


def reconcile(apply: bool = False) -> list[Drift]:
    """Every drifted counter of every campaign and step: per kind one ``GROUP BY`` over the
    sends and one read of the counters.

    With ``apply=True`` each drifted row is locked (``SELECT … FOR UPDATE``), recomputed
    again under the lock and set to the ledger's numbers, in one transaction: a send moved
    meanwhile commits its ``F()`` increment after the repair, on top of it."""
    drifts: list[Drift] = []
    for kind, model, column in _MAILINGS:
        drifts.extend(_drifts(str(kind), model, column, _ledger(column)))
    if apply and drifts:
        with transaction.atomic():
            for kind, model, column in _MAILINGS:
                ids = sorted({d.object_id for d in drifts if d.kind == kind})
                if ids:
                    _repair(model, column, ids)
    return drifts


def _ledger(column: str, ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    sends = EmailSend.objects.order_by().filter(**{f"{column}__isnull": False})
    if ids is not None:
        sends = sends.filter(**{f"{column}__in": ids})
    rows = sends.values(column).annotate(
        **{name: Count("pk", filter=condition) for name, condition in RECOMPUTED.items()}
    )
    return {row.pop(column): row for row in rows}


def _drifts(
    kind: str, model: type[Model], column: str, ledger: dict[int, dict[str, int]]
) -> list[Drift]:
    zero = dict.fromkeys(RECOMPUTED, 0)
    label: tuple[str, ...] = (
        ("name",) if model is EmailCampaign else ("sequence__name", "step_number")
    )
    drifts: list[Drift] = []
    for row in model._default_manager.order_by("pk").values("pk", *label, *RECOMPUTED).iterator():
        recomputed = ledger.get(row["pk"], zero)
        name = row["name"] if model is EmailCampaign else f"{row[label[0]]} #{row[label[1]]}"
        drifts.extend(
            Drift(
                kind=kind,
                object_id=row["pk"],
                name=name,
                counter=counter,
                stored=row[counter],
                recomputed=recomputed[counter],
            )
            for counter in RECOMPUTED
            if row[counter] != recomputed[counter]
        )
    return drifts


def _repair(model: type[Model], column: str, ids: list[int]) -> None:
    manager: Any = model._default_manager
    locked = list(manager.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
    ledger = _ledger(column, [pk for (pk,) in locked])
    zero = dict.fromkeys(RECOMPUTED, 0)
    for (pk,) in locked:  # one UPDATE per drifted row: a repair, not a hot path
        manager.filter(pk=pk).update(**ledger.get(pk, zero))
