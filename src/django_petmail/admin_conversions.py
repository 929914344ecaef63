"""Admin for conversions: read-only. They are written only by ``record_conversion`` and
``refund_conversion`` (which move the campaign and step counters with them); a hand edit or
deletion here would leave those counters wrong, so the admin only lists and shows them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Conversion


class AttributedFilter(admin.SimpleListFilter):
    title = _("attribution")
    parameter_name = "attributed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("campaign", _("To a campaign")),
            ("step", _("To a sequence step")),
            ("no", _("Unattributed")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "campaign":
            return queryset.filter(send__campaign__isnull=False)
        if value == "step":
            return queryset.filter(send__sequence_step__isnull=False)
        if value == "no":
            return queryset.filter(send__isnull=True)
        return queryset


class RefundedFilter(admin.SimpleListFilter):
    title = _("refunded")
    parameter_name = "refunded"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Refunded")), ("no", _("Not refunded"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(refunded_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(refunded_at__isnull=True)
        return queryset


@admin.register(Conversion)
class ConversionAdmin(admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "reference",
        "amount",
        "currency",
        "email",
        "mailing",
        "refunded_at",
    )
    list_filter = (AttributedFilter, RefundedFilter, "currency")
    search_fields = ("reference", "subscription__email")
    date_hierarchy = "occurred_at"
    list_select_related = ("subscription", "send__campaign", "send__sequence_step__sequence")
    fields = (
        "reference",
        "amount",
        "currency",
        "occurred_at",
        "refunded_at",
        "subscription",
        "send",
        "mailing",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description=_("address"), ordering="subscription__email")
    def email(self, obj: Conversion) -> str:
        return obj.subscription.email if obj.subscription else "—"

    @admin.display(description=_("attributed to"))
    def mailing(self, obj: Conversion) -> str:
        send = obj.send
        if send is None:
            return str(_("Unattributed"))
        return str(send.campaign or send.sequence_step)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
