"""Seed a realistic clinic: owners, pets, visits, orders, vaccinations, carts, subscribers."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from clinic.seeding import seed_clinic


class Command(BaseCommand):
    help = "Create a realistic clinic in bulk (default 3,000 owners)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--owners",
            type=int,
            default=3000,
            help="Number of pet owners to create (default 3000).",
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=2000,
            help="Owners inserted per transaction (default 2000).",
        )
        parser.add_argument(
            "--subscription-rate",
            type=float,
            default=0.7,
            help="Share of owners with a newsletter subscription (0–1).",
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        owners = options["owners"]
        if owners < 0:
            raise CommandError("--owners must be zero or more.")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        if not 0 <= options["subscription_rate"] <= 1:
            raise CommandError("--subscription-rate must be between 0 and 1.")
        bar = tqdm(
            total=owners,
            unit="owners",
            desc="Seeding clinic",
            file=self.stderr,
            disable=options["no_progress"] or options["verbosity"] == 0,
        )
        with bar:
            report = seed_clinic(
                owners,
                seed=options["seed"],
                chunk_size=options["chunk_size"],
                subscription_rate=options["subscription_rate"],
                progress=bar.update,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {report.owners} owners, {report.pets} pets, {report.appointments} "
                f"appointments, {report.orders} orders, {report.vaccinations} vaccinations, "
                f"{report.carts} carts, {report.subscriptions} subscriptions."
            )
        )
