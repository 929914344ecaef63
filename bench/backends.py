"""An email backend for benchmarks: builds each message's MIME bytes (the work an SMTP or
API hand-off does locally) and drops them."""

from __future__ import annotations

from typing import Any

from django.core.mail.backends.base import BaseEmailBackend


class MimeBackend(BaseEmailBackend):
    built_bytes = 0

    def send_messages(self, email_messages: Any) -> int:
        for message in email_messages:
            MimeBackend.built_bytes += len(message.message().as_bytes())
        return len(email_messages)
