"""The clinic fires django-petmail's event triggers from its own models, and reports its
orders as conversions.

``purchase`` when an order becomes completed, ``appointment`` when an appointment becomes
completed: on the transition only (created completed, or saved with ``completed`` after
another status), never on every save. An order that becomes completed is also recorded as
a conversion (``record_conversion``, reference ``order-<pk>``), and a completed order that
becomes refunded or cancelled refunds it (``refund_conversion``). Connected in
:meth:`ClinicConfig.ready`.

A failure inside petmail (a broken sequence, an owner without an address, the database)
never breaks the clinic's save: each call runs in a savepoint and its error is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

import django_petmail

from .models import Appointment, AppointmentStatus, Order, OrderStatus

logger = logging.getLogger(__name__)

#: model → (the completed status, the trigger it fires)
COMPLETIONS: dict[type, tuple[str, str]] = {
    Order: (OrderStatus.COMPLETED, "purchase"),
    Appointment: (AppointmentStatus.COMPLETED, "appointment"),
}

#: A completed order that moves to one of these is refunded in petmail.
ORDER_REVERSALS: frozenset[str] = frozenset({OrderStatus.REFUNDED, OrderStatus.CANCELLED})


def remember_status(sender: type, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Before a save: was the row already completed? (one query for an existing row)."""
    if raw or sender not in COMPLETIONS:
        return
    completed, _ = COMPLETIONS[sender]
    was = False
    if instance.pk is not None and not instance._state.adding:
        was = sender._default_manager.filter(pk=instance.pk, status=completed).exists()
    instance._petmail_was_completed = was


def trigger_data(instance: Any) -> dict[str, Any]:
    if isinstance(instance, Order):
        return {"amount": float(instance.total), "order": instance.pk}
    return {"appointment": instance.pk, "pet": instance.pet_id}


def fire_on_completion(
    sender: type, instance: Any, created: bool = False, raw: bool = False, **kwargs: Any
) -> None:
    """After a save: fire the trigger if the row just became completed; for an order, record
    or refund its conversion."""
    if raw or sender not in COMPLETIONS:
        return
    completed, name = COMPLETIONS[sender]
    was = getattr(instance, "_petmail_was_completed", False)
    instance._petmail_was_completed = instance.status == completed
    if isinstance(instance, Order):
        settle_order(instance, created=created, was_completed=was)
    if instance.status != completed or was:
        return
    _quietly(
        f"trigger {name!r}",
        instance,
        lambda: django_petmail.trigger(name, instance.owner, **trigger_data(instance)),
    )


def settle_order(order: Order, *, created: bool, was_completed: bool) -> None:
    """Record the order as a conversion when it becomes completed (at its creation time if it
    was created completed), refund it when a completed order is refunded or cancelled."""
    reference = f"order-{order.pk}"
    if order.status == OrderStatus.COMPLETED and not was_completed:
        at = order.created if created else timezone.now()
        _quietly(
            "conversion",
            order,
            lambda: django_petmail.record_conversion(
                order.owner, order.total, reference=reference, at=at
            ),
        )
    elif was_completed and order.status in ORDER_REVERSALS:
        _quietly("refund", order, lambda: django_petmail.refund_conversion(reference))


def _quietly(what: str, instance: Any, call: Any) -> None:
    """Run a petmail ``call`` in a savepoint: its error is logged, the host's save stands."""
    try:
        with transaction.atomic():
            call()
    except Exception:
        model = type(instance).__name__
        logger.exception(
            "petmail %s failed for %s %s; the %s was saved",
            what,
            model,
            instance.pk,
            model.lower(),
        )


def connect() -> None:
    for model in COMPLETIONS:
        uid = f"clinic.petmail.{model.__name__}"
        pre_save.connect(remember_status, sender=model, dispatch_uid=f"{uid}.pre")
        post_save.connect(fire_on_completion, sender=model, dispatch_uid=f"{uid}.post")
