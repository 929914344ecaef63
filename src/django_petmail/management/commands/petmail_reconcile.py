"""Recompute every campaign's and step's counters from the send ledger and print where they
drifted; ``--apply`` repairs them (see ``django_petmail.analytics.reconcile``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_petmail.analytics import reconcile


class Command(BaseCommand):
    help = "Check the campaign and step counters against the send ledger (and fix them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--apply", action="store_true", help="Set drifted counters to the ledger's numbers."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        drifts = reconcile(apply=options["apply"])
        if not drifts:
            self.stdout.write(self.style.SUCCESS("Counters match the ledger: no drift."))
            return
        for drift in drifts:
            self.stdout.write(str(drift))
        if options["apply"]:
            self.stdout.write(self.style.SUCCESS(f"Repaired {len(drifts)} counters."))
        else:
            self.stdout.write(
                self.style.WARNING(f"{len(drifts)} counters drifted; run with --apply to fix.")
            )
