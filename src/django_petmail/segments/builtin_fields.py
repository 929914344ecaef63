"""Segment fields every installation has: the subscription's own columns.

Registered when the app is ready, before host ``petmail_hooks`` modules, so a host may
``replace=True`` any of them.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ..models import Frequency, SubscriptionSource, SubscriptionStatus
from .fields import FieldType, register_segment_field, segment_fields


def register_builtin_fields() -> None:
    if "status" in segment_fields:
        return
    register_segment_field(
        "status", type=FieldType.CHOICE, label=_("Estado"), choices=SubscriptionStatus.choices
    )
    register_segment_field(
        "source", type=FieldType.CHOICE, label=_("Origen"), choices=SubscriptionSource.choices
    )
    register_segment_field(
        "language", type=FieldType.STRING, label=_("Idioma"), ops=("eq", "ne", "in", "not_in")
    )
    register_segment_field("topics", type=FieldType.LIST, label=_("Temas"))
    register_segment_field(
        "frequency", type=FieldType.CHOICE, label=_("Frecuencia"), choices=Frequency.choices
    )
    register_segment_field("subscribed_at", type=FieldType.DATETIME, label=_("Suscrito el"))
    register_segment_field("confirmed_at", type=FieldType.DATETIME, label=_("Confirmado el"))
