"""Run the django-petmail demo on the example clinic and print a report."""

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.demo import STEPS


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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["owners"] < 1:
            raise CommandError("--owners must be at least 1.")
        if options["reset"]:
            call_command("flush", interactive=False, verbosity=0)
        started = time.perf_counter()
        lines = ["", "django-petmail demo report", "=" * 26]
        for step in STEPS:
            lines.extend(step(self, options))
        lines.append(f"Done in {time.perf_counter() - started:.1f}s.")
        self.stdout.write("\n".join(lines))
