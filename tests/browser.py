"""Headless Debian Chromium through Playwright, for the tests marked ``browser``."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

from django.db import connections

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium_page(**context_options: Any) -> Iterator[Any]:
    """A new page in a fresh headless Chromium (``context_options``: locale, viewport…)."""
    from playwright.sync_api import sync_playwright  # dev-only dependency, browser tests only

    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by
    # the test itself (not the server) are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            context = browser.new_context(**context_options)
            yield context.new_page()
            context.close()
            browser.close()
            # ORM calls made while Playwright's loop ran may have opened their own
            # connection (Django's connection handler is context-local); close it.
            connections.close_all()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
