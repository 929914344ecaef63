"""An email backend for benchmarks: builds each message's MIME bytes (the work an SMTP or
API hand-off does locally) and drops them. Counts what it built, so each scenario can check
that every recipient's message really went through it."""

from __future__ import annotations

import threading
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend


class MimeBackend(BaseEmailBackend):
    built_bytes = 0
    built_messages = 0
    _lock = threading.Lock()

    def send_messages(self, email_messages: Any) -> int:
        size = sum(len(message.message().as_bytes()) for message in email_messages)
        with MimeBackend._lock:
            MimeBackend.built_bytes += size
            MimeBackend.built_messages += len(email_messages)
        return len(email_messages)
