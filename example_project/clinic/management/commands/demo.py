"""Run the django-petmail demo on the example clinic and print a report."""

import os
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import override_settings

from clinic.demo import STEPS, how_to_open

#: Mail the demo sends outside its SMTP-sink steps is captured, not printed by the thousand.
DEMO_EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "anymail.backends.test.EmailBackend")


class Command(BaseCommand):
    help = "Seed the clinic and run every demo step (see clinic/demo.py), printing a report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--owners", type=int, default=3000, help="Owners to seed (default 3000)."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--reset", action="store_true", help="Empty the database first (manage.py flush)."
        )
        parser.add_argument(
            "--create-admin",
            action="store_true",
            help="Create the superuser admin/admin (only for the throw-away demo database).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["owners"] < 1:
            raise CommandError("--owners must be at least 1.")
        if options["reset"]:
            call_command("flush", interactive=False, verbosity=0)
        started = time.perf_counter()
        lines = ["", "django-petmail demo report", "=" * 26]
        with override_settings(EMAIL_BACKEND=DEMO_EMAIL_BACKEND):
            for step in STEPS:
                lines.extend(step(self, options))
        lines.append(f"Done in {time.perf_counter() - started:.1f}s.")
        lines.extend(how_to_open(create_admin=options["create_admin"]))
        self.stdout.write("\n".join(lines))
