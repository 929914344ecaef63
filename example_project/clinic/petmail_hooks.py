"""The clinic's extension of django-petmail: segment fields, skip conditions, triggers.

Discovered automatically (django-petmail imports every installed app's ``petmail_hooks``).
Everything comes from ``django_petmail.hooks``, the package's public surface for hosts.
"""

from datetime import timedelta
from typing import Any

from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from django_petmail.hooks import (
    FieldType,
    compare,
    get_owner_model,
    parse_duration_days,
    register_segment_field,
    register_skip_condition,
    register_trigger,
)

from .models import (
    Appointment,
    AppointmentStatus,
    Cart,
    Order,
    OrderStatus,
    Pet,
    Species,
    Vaccination,
)

# --- Segment fields (paths start at NewsletterSubscription) --------------------------------

register_segment_field(
    "pets__species",
    type=FieldType.CHOICE,
    label="Especie de la mascota",
    path="owner__pets__species",
    choices=Species.choices,
    to_many=True,
)
register_segment_field(
    "pets__breed",
    type=FieldType.STRING,
    label="Raza de la mascota",
    path="owner__pets__breed",
    to_many=True,
)
register_segment_field(
    "pet_birthday_month",
    type=FieldType.NUMBER,
    label="Mes de cumpleaños de la mascota",
    path="owner__pets__birthday__month",
    to_many=True,
    ops=("eq", "in", "between"),
)


def _last_visit(op: str, value: Any) -> Q:
    if op in ("gte", "gt"):
        # "the latest visit is on/after X" is "some visit is on/after X": an EXISTS the
        # database answers from the (owner, status, start) index without sorting.
        visits = Appointment.objects.filter(
            owner=OuterRef("owner"),
            status=AppointmentStatus.COMPLETED,
            **{f"start__date__{op}": value},
        )
        return Q(Exists(visits))
    last = Subquery(
        Appointment.objects.filter(owner=OuterRef("owner"), status=AppointmentStatus.COMPLETED)
        .order_by("-start")
        .values("start__date")[:1]
    )
    return compare(last, op, value)


register_segment_field(
    "last_visit_date",
    type=FieldType.DATE,
    label="Última visita",
    lookup=_last_visit,
)


def _lifetime_value(op: str, value: Any) -> Q:
    total = Coalesce(
        Subquery(
            Order.objects.filter(owner=OuterRef("owner"), status=OrderStatus.COMPLETED)
            .order_by()
            .values("owner")
            .annotate(total=Sum("total"))
            .values("total")[:1]
        ),
        Value(0),
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )
    return compare(total, op, value)


register_segment_field(
    "lifetime_value",
    type=FieldType.DECIMAL,
    label="Valor de vida (pedidos completados)",
    lookup=_lifetime_value,
    ops=("eq", "ne", "gt", "gte", "lt", "lte", "between"),
)


def _has_upcoming_appointment(op: str, value: Any) -> Q:
    upcoming = Exists(
        Appointment.objects.filter(
            owner=OuterRef("owner"),
            status=AppointmentStatus.SCHEDULED,
            start__gte=timezone.now(),
        )
    )
    wanted = bool(value) if op == "eq" else not bool(value)
    return Q(upcoming) if wanted else ~Q(upcoming)


register_segment_field(
    "has_upcoming_appointment",
    type=FieldType.BOOLEAN,
    label="Tiene cita próxima",
    lookup=_has_upcoming_appointment,
    ops=("eq", "ne"),
)


def _orders_count(op: str, value: Any) -> Q:
    count = Coalesce(
        Subquery(
            Order.objects.filter(owner=OuterRef("owner"), status=OrderStatus.COMPLETED)
            .order_by()
            .values("owner")
            .annotate(n=Count("pk"))
            .values("n")[:1]
        ),
        Value(0),
    )
    return compare(count, op, value)


register_segment_field(
    "orders_count",
    type=FieldType.NUMBER,
    label="Número de pedidos completados",
    lookup=_orders_count,
    ops=("eq", "ne", "gt", "gte", "lt", "lte", "between"),
)

register_segment_field(
    "pets",
    type=FieldType.BOOLEAN,
    label="Tiene mascotas registradas",
    path="owner__pets",
    to_many=True,
    ops=("exists",),
)


def _vaccination_due(op: str, days: int) -> Q:
    today = timezone.localdate()
    due = Vaccination.objects.filter(
        pet__owner=OuterRef("owner"),
        administered_at__isnull=True,
        due_date__gte=today,
        due_date__lte=today + timedelta(days=days),
    )
    return Q(Exists(due))


register_segment_field(
    "vaccination_due",
    type=FieldType.DURATION,
    label="Vacuna pendiente en los próximos",
    ops=("within",),
    lookup=_vaccination_due,
    value_parser=lambda op, raw: parse_duration_days(raw),
)

#: A cart untouched this long without checkout is abandoned.
ABANDONED_AFTER = timedelta(hours=4)


def _abandoned_cart(op: str, value: bool) -> Q:
    carts = Cart.objects.filter(
        owner=OuterRef("owner"),
        checked_out_at__isnull=True,
        item_count__gt=0,
        updated__lte=timezone.now() - ABANDONED_AFTER,
    )
    wanted = value if op == "eq" else not value
    return Q(Exists(carts)) if wanted else ~Q(Exists(carts))


register_segment_field(
    "abandoned_cart",
    type=FieldType.BOOLEAN,
    label="Tiene un carrito abandonado",
    lookup=_abandoned_cart,
    ops=("eq", "ne"),
)

# --- Skip conditions: Q over the owner model; matching owners skip the step ---------------

register_skip_condition(
    "already_purchased",
    lambda value: Q(
        Exists(Order.objects.filter(owner=OuterRef("pk"), status=OrderStatus.COMPLETED))
    ),
    label="Ya ha comprado",
)
register_skip_condition(
    "has_appointment",
    lambda value: Q(
        Exists(
            Appointment.objects.filter(
                owner=OuterRef("pk"), status=AppointmentStatus.SCHEDULED, start__gte=timezone.now()
            )
        )
    ),
    label="Tiene cita programada",
)

# --- Scheduled triggers: (sequence, now) -> owners to enroll -------------------------------
# Each declares the ``trigger_conditions`` it accepts; a sequence's conditions are checked
# against the declaration when it is saved. The event triggers ``purchase`` and
# ``appointment`` are the package's built-ins: the clinic fires them from its own models
# (clinic/receivers.py).


@register_trigger("vaccination_due", label="Vacuna pendiente", conditions={"days_before": int})
def vaccination_due(sequence: Any, now: Any) -> Any:
    days = int((sequence.trigger_conditions or {}).get("days_before", 14))
    window = now.date() + timedelta(days=days)
    due = Vaccination.objects.filter(
        pet__owner=OuterRef("pk"),
        administered_at__isnull=True,
        due_date__gte=now.date(),
        due_date__lte=window,
    )
    return get_owner_model()._default_manager.filter(Exists(due))


@register_trigger("birthday", label="Cumpleaños de la mascota", conditions={})
def pet_birthday(sequence: Any, now: Any) -> Any:
    today = now.date()
    pets = Pet.objects.filter(
        owner=OuterRef("pk"), birthday__month=today.month, birthday__day=today.day
    )
    return get_owner_model()._default_manager.filter(Exists(pets))


@register_trigger("abandoned_cart", label="Carrito abandonado", conditions={"hours": int})
def abandoned_cart(sequence: Any, now: Any) -> Any:
    hours = int((sequence.trigger_conditions or {}).get("hours", 4))
    carts = Cart.objects.filter(
        owner=OuterRef("pk"),
        checked_out_at__isnull=True,
        item_count__gt=0,
        updated__lte=now - timedelta(hours=hours),
    )
    return get_owner_model()._default_manager.filter(Exists(carts))
