"""Segments from the command line: refresh counts, preview rules, freeze a static segment."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_petmail.exceptions import RuleValidationError
from django_petmail.models import CustomerSegment
from django_petmail.segments.service import preview, preview_segment, refresh_counts, snapshot


class Command(BaseCommand):
    help = "Refresh segment member counts, preview rules, or snapshot a static segment."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        refresh = sub.add_parser("refresh", help="Recount members of active segments.")
        refresh.add_argument("--slug", action="append", help="Only these segments (repeatable).")
        show = sub.add_parser("preview", help="Count and sample members of rules or a segment.")
        group = show.add_mutually_exclusive_group(required=True)
        group.add_argument("--slug", help="A saved segment.")
        group.add_argument("--rules", help="Rules as JSON.")
        show.add_argument("--sample", type=int, default=5, help="Members to list (default 5).")
        freeze = sub.add_parser("snapshot", help="Freeze a segment's current members.")
        freeze.add_argument("slug")

    def _segment(self, slug: str) -> CustomerSegment:
        segment = CustomerSegment.objects.filter(slug=slug).first()
        if segment is None:
            raise CommandError(f"slug: no segment {slug!r}.")
        return segment

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "refresh":
                self._refresh(options["slug"])
            elif action == "preview":
                self._preview(options)
            else:
                segment = self._segment(options["slug"])
                count = snapshot(segment)
                self.stdout.write(self.style.SUCCESS(f"{segment.slug}: froze {count} members."))
        except RuleValidationError as exc:
            raise CommandError("rules: " + "; ".join(f"{p}: {m}" for p, m in exc.errors)) from exc

    def _refresh(self, slugs: list[str] | None) -> None:
        segments = CustomerSegment.objects.filter(is_active=True).order_by("slug")
        if slugs:
            missing = sorted(
                set(slugs) - set(segments.filter(slug__in=slugs).values_list("slug", flat=True))
            )
            if missing:
                raise CommandError(f"slug: no active segment {', '.join(missing)}.")
            segments = segments.filter(slug__in=slugs)
        counts = refresh_counts(segments)
        by_pk = {s.pk: s.slug for s in segments}
        for pk, count in counts.items():
            if count is None:
                self.stderr.write(f"{by_pk[pk]}: rules no longer valid")
            else:
                self.stdout.write(f"{by_pk[pk]}: {count}")

    def _preview(self, options: dict[str, Any]) -> None:
        if options["sample"] < 0 or options["sample"] > 100:
            raise CommandError("--sample must be between 0 and 100.")
        frozen = False
        if options["rules"] is not None:
            try:
                rules = json.loads(options["rules"])
            except json.JSONDecodeError as exc:
                raise CommandError(f"--rules: not valid JSON ({exc}).") from exc
            result = preview(rules, options["sample"])
        else:
            segment = self._segment(options["slug"])
            result = preview_segment(segment, options["sample"])
            frozen = segment.is_frozen
        self.stdout.write(f"{result.count} members" + (" (frozen)" if frozen else ""))
        for row in result.sample:
            self.stdout.write(f"  {row['email']}")
