from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PetmailConfig(AppConfig):
    name = "django_petmail"
    label = "django_petmail"
    verbose_name = _("Email marketing")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at module level: they import models, which need the app registry.
        from . import (
            checks,  # noqa: F401  (registers the system checks)
            receivers,
        )
        from .registry import autodiscover
        from .segments.builtin_fields import register_builtin_fields
        from .sequences.builtin import register_builtin_triggers

        register_builtin_fields()
        register_builtin_triggers()
        autodiscover()
        receivers.connect()
        self._connect_tracking()

    @staticmethod
    def _connect_tracking() -> None:
        try:
            from anymail.signals import tracking
        except ImportError:  # pragma: no cover - anymail is a dependency
            return
        from .tracking.receiver import handle_tracking

        tracking.connect(handle_tracking, dispatch_uid="django_petmail.tracking")
