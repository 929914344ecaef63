"""GDPR requests from the command line: export or erase one subscriber by email."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email

from django_petmail.gdpr import erase_subscriber, export_subscriber, find_subscription
from django_petmail.models import normalize_email
from django_petmail.subscriptions import Consent


class Command(BaseCommand):
    help = "Export (JSON) or erase the data held about one subscriber."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("email", help="The subscriber's email address.")
        parser.add_argument("--output", help="export: write JSON to this file (default stdout).")
        parser.add_argument(
            "--yes",
            action="store_true",
            help="erase: confirm that the data may be erased (required).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email = normalize_email(options["email"])
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"email: {options['email']!r} is not a valid address.") from None
        subscription = find_subscription(email)
        if subscription is None:
            raise CommandError(f"email: no subscription for {email}.")
        if options["action"] == "export":
            text = json.dumps(
                export_subscriber(subscription), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2
            )
            if options["output"]:
                try:
                    Path(options["output"]).write_text(text + "\n", encoding="utf-8")
                except OSError as exc:
                    raise CommandError(
                        f"--output: cannot write {options['output']}: {exc}"
                    ) from exc
                self.stdout.write(self.style.SUCCESS(f"Exported {email} to {options['output']}."))
            else:
                self.stdout.write(text)
            return
        if not options["yes"]:
            raise CommandError("erase: pass --yes to confirm; erasure cannot be undone.")
        digest = erase_subscriber(subscription, Consent(source="command"))
        self.stdout.write(self.style.SUCCESS(f"Erased {email}; suppression hash {digest}."))
