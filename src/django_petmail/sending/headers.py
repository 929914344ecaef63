"""``List-Unsubscribe`` headers (RFC 2369) with one-click support (RFC 8058).

Gmail and Yahoo require both headers on bulk mail since 2024: an https URL that accepts a
``POST`` of ``List-Unsubscribe=One-Click`` and a ``List-Unsubscribe-Post`` header announcing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from ..conf import petmail_settings
from ..links import unsubscribe_url

if TYPE_CHECKING:
    from ..models import NewsletterSubscription


def unsubscribe_headers(
    subscription: NewsletterSubscription, send_id: int | None = None, *, url: str | None = None
) -> dict[str, str]:
    """Exactly one ``List-Unsubscribe`` (https URL, then the optional mailto) and the
    ``List-Unsubscribe-Post`` one-click announcement, for one recipient of one send.

    Pass ``url`` when the body already links to an unsubscribe URL, so both agree."""
    url = url or unsubscribe_url(subscription, send_id)
    targets = [f"<{url}>"]
    mailto = petmail_settings.UNSUBSCRIBE_MAILTO
    if mailto:
        subject = quote(f"unsubscribe {subscription.pk}")
        targets.append(f"<mailto:{mailto}?subject={subject}>")
    return {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
