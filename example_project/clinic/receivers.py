"""The clinic fires django-petmail's event triggers from its own models.

``purchase`` when an order becomes completed, ``appointment`` when an appointment becomes
completed: on the transition only (created completed, or saved with ``completed`` after
another status), never on every save. Connected in :meth:`ClinicConfig.ready`.

A failure inside petmail (a broken sequence, an owner without an address, the database)
never breaks the clinic's save: the trigger runs in a savepoint and its error is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save, pre_save

import django_petmail

from .models import Appointment, AppointmentStatus, Order, OrderStatus

logger = logging.getLogger(__name__)

#: model → (the completed status, the trigger it fires)
COMPLETIONS: dict[type, tuple[str, str]] = {
    Order: (OrderStatus.COMPLETED, "purchase"),
    Appointment: (AppointmentStatus.COMPLETED, "appointment"),
}


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
    """After a save: fire the trigger if the row just became completed."""
    if raw or sender not in COMPLETIONS:
        return
    completed, name = COMPLETIONS[sender]
    was = getattr(instance, "_petmail_was_completed", False)
    instance._petmail_was_completed = instance.status == completed
    if instance.status != completed or was:
        return
    try:
        with transaction.atomic():  # a savepoint: a petmail error leaves the host's save intact
            django_petmail.trigger(name, instance.owner, **trigger_data(instance))
    except Exception:
        logger.exception(
            "petmail trigger %r failed for %s %s; the %s was saved",
            name,
            sender.__name__,
            instance.pk,
            sender.__name__.lower(),
        )


def connect() -> None:
    for model in COMPLETIONS:
        uid = f"clinic.petmail.{model.__name__}"
        pre_save.connect(remember_status, sender=model, dispatch_uid=f"{uid}.pre")
        post_save.connect(fire_on_completion, sender=model, dispatch_uid=f"{uid}.post")
