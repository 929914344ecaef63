"""Public pages: subscribe, confirm, preferences, unsubscribe (page and RFC 8058 one-click),
view online, and the first-party open pixel and click redirects."""

from .confirm import confirm_view, resend_confirmation_view
from .online import view_online_view
from .preferences import preferences_view
from .subscribe import subscribe_done_view, subscribe_view
from .tracking import click_view, open_pixel_view
from .unsubscribe import unsubscribe_view

__all__ = [
    "click_view",
    "confirm_view",
    "open_pixel_view",
    "preferences_view",
    "resend_confirmation_view",
    "subscribe_done_view",
    "subscribe_view",
    "unsubscribe_view",
    "view_online_view",
]
