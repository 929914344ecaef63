"""What every endpoint of the API shares: staff model permissions, pagination, the public
throttle, filter backends and serializers that refuse unknown fields."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import permissions, serializers
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

#: The viewset actions whose permission follows the HTTP method; any other (``start``,
#: ``pause``…) changes the object, so it needs the model's ``change`` permission.
STANDARD_ACTIONS = {"list", "retrieve", "create", "update", "partial_update", "destroy"}

_VERB_OF_METHOD = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


class StaffModelPermissions(permissions.BasePermission):
    """Staff users acting within Django's model permissions, so a clinic can give a marketer
    a group: reading needs ``view_<model>``, creating ``add_``, editing ``change_``,
    deleting ``delete_``; a custom action that writes (``start``, ``pause``…) needs
    ``change_``. Superusers have every permission.

    The model is the view's queryset's, or its ``permission_model``; a view may name the
    permission an action needs in ``action_permissions`` (``{"erase": "delete"}``) or, for
    a plain ``APIView``, in ``permission_verb``.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        verb = self.verb(request, view)
        if verb is None:
            return False
        model = getattr(view, "permission_model", None) or view.get_queryset().model
        return bool(user.has_perm(f"{model._meta.app_label}.{verb}_{model._meta.model_name}"))

    @staticmethod
    def verb(request: Request, view: Any) -> str | None:
        action = getattr(view, "action", None)
        named = getattr(view, "action_permissions", {}).get(action)
        if named:
            return str(named)
        if getattr(view, "permission_verb", None):
            return str(view.permission_verb)
        if action and action not in STANDARD_ACTIONS:
            return "view" if request.method in permissions.SAFE_METHODS else "change"
        return _VERB_OF_METHOD.get(request.method or "")


class PetmailPagination(PageNumberPagination):
    """The API's default pagination: ``?page=`` and ``?page_size=`` (at most 500)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class RecentFirstCursorPagination(CursorPagination):
    """Cursor pagination for tables that only grow (sends, events): stable under inserts and
    as fast on the last page as on the first."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-pk",)


#: ``?<field>=`` filters (django-filter FilterSets) and ``?ordering=``.
FILTER_BACKENDS = [DjangoFilterBackend, OrderingFilter]


class PublicThrottle(ScopedRateThrottle):
    """DRF's scoped throttle with a default rate, so a host need not configure a scope to
    use the public endpoints; ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` overrides it."""

    DEFAULT_RATES = {
        "petmail_subscribe": "10/minute"
    }  # bursts; SUBSCRIBE_RATE_LIMIT_PER_IP caps the hour

    def get_rate(self) -> str | None:
        rates = {**self.DEFAULT_RATES, **(api_settings.DEFAULT_THROTTLE_RATES or {})}
        rate = rates.get(self.scope or "")
        return None if rate is None else str(rate)


class StrictFieldsMixin:
    """A serializer that refuses fields it does not know (DRF ignores them silently), so a
    typo such as ``"subjet"`` is a 400 naming it rather than a change that never happened."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(self.fields)  # type: ignore[attr-defined]  # read-only ones are ignored
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                raise serializers.ValidationError(
                    {key: [_("Unknown field.")] for key in unknown[:20]}
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class ModelSerializer(serializers.ModelSerializer):
    """``ModelSerializer`` whose read-only fields keep ``allow_blank`` from the model, so the
    schema admits the ``""`` a blank choice (``ab_variant``…) really returns."""

    def include_extra_kwargs(
        self, kwargs: MutableMapping[str, Any], extra_kwargs: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        blank = kwargs.get("allow_blank")
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if blank:
            kwargs["allow_blank"] = True
        return kwargs
