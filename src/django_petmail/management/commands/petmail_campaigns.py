"""Campaigns from the command line: list, show progress, start, send in-process, pause,
resume, cancel, test-send.

``send`` drains a sending campaign in this process, batch by batch, printing progress: for
sites without Celery workers, or to finish a campaign while the workers are down. It claims
sends exactly as the workers do, so running it beside them is safe.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_petmail import campaigns
from django_petmail.exceptions import InvalidTransition
from django_petmail.models import CampaignStatus, EmailCampaign
from django_petmail.sending.worker import retry_delay


class Command(BaseCommand):
    help = "List, inspect, start, send, pause, resume, cancel or test-send campaigns."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="Campaigns with their state and progress.")
        listing.add_argument(
            "--status", choices=CampaignStatus.values, help="Only campaigns in this state."
        )
        for name, text in [
            ("show", "Progress, counters and the A/B result of one campaign."),
            ("pause", "Stop claiming new batches."),
            ("resume", "Continue a paused campaign with its remaining sends."),
            ("cancel", "Cancel a draft, scheduled or paused campaign; pending sends too."),
            ("send", "Send a sending campaign's remaining sends in this process."),
        ]:
            sub.add_parser(name, help=text).add_argument("campaign", help="Id or exact name.")
        start = sub.add_parser("start", help="Fan out and start sending a campaign.")
        start.add_argument("campaign", help="Id or exact name.")
        start.add_argument(
            "--here",
            action="store_true",
            help="Send in this process (as 'send' does) instead of queueing Celery workers.",
        )
        test = sub.add_parser("test", help="Send the rendered campaign to test addresses.")
        test.add_argument("campaign", help="Id or exact name.")
        test.add_argument("--to", required=True, help="Comma-separated addresses (at most 20).")
        test.add_argument("--variant", choices=["A", "B"], default="A")

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = int(options.get("verbosity", 1))
        action = options["action"]
        if action == "list":
            self._list(options["status"])
            return
        campaign = self._campaign(options["campaign"])
        try:
            if action == "show":
                self._show(campaign)
            elif action == "start":
                count = campaigns.start(campaign, enqueue=not options["here"])
                self.stdout.write(f"{campaign.name}: {count} recipients.")
                if options["here"]:
                    self._send(campaign)
                else:
                    self.stdout.write("Queued the sending workers.")
            elif action == "send":
                self._send(campaign)
            elif action == "pause":
                campaigns.pause(campaign)
                self.stdout.write(self.style.SUCCESS(f"{campaign.name}: paused."))
            elif action == "resume":
                campaigns.resume(campaign)
                self.stdout.write(self.style.SUCCESS(f"{campaign.name}: sending again."))
            elif action == "cancel":
                count = campaigns.cancel(campaign)
                self.stdout.write(self.style.SUCCESS(f"{campaign.name}: cancelled {count} sends."))
            else:
                emails = [e.strip() for e in options["to"].split(",") if e.strip()]
                sent = campaigns.send_test(campaign, emails, variant=options["variant"])
                self.stdout.write(self.style.SUCCESS(f"Sent {sent} test messages."))
        except InvalidTransition as exc:
            raise CommandError(f"campaign: {exc}") from exc
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from exc

    def _campaign(self, ref: str) -> EmailCampaign:
        found = (
            EmailCampaign.objects.filter(pk=int(ref)).first()
            if ref.isdigit() and int(ref) < 2**63
            else None
        )
        if found is None:
            named = list(EmailCampaign.objects.filter(name=ref)[:2])
            if len(named) > 1:
                raise CommandError(f"campaign: several campaigns are named {ref!r}; use the id.")
            found = named[0] if named else None
        if found is None:
            raise CommandError(f"campaign: no campaign {ref!r} (give its id or exact name).")
        return found

    def _list(self, status: str | None) -> None:
        rows = EmailCampaign.objects.order_by("-created_at")
        if status:
            rows = rows.filter(status=status)
        for campaign in rows:
            self.stdout.write(
                f"{campaign.pk:>6}  {campaign.status:<10} {campaign.sent_count:>8}/"
                f"{campaign.recipient_count:<8} {campaign.name}"
            )

    def _show(self, campaign: EmailCampaign) -> None:
        state = campaigns.progress(campaign)
        self.stdout.write(f"{campaign.name} (#{campaign.pk}): {state['status']}")
        self.stdout.write(
            f"  progress   {state['done']}/{state['recipients']} ({state['percent']} %), "
            f"{state['rate_per_second']}/s in the last minute, finish ≈ {state['eta'] or '—'}"
        )
        by_status = ", ".join(f"{k}={v}" for k, v in sorted(state["by_status"].items()))
        self.stdout.write(f"  sends      {by_status or 'none yet'}")
        self.stdout.write(
            f"  counters   sent={campaign.sent_count} delivered={campaign.delivered_count} "
            f"opens={campaign.open_count} clicks={campaign.click_count} "
            f"bounces={campaign.bounce_count} complaints={campaign.complaint_count} "
            f"unsubscribes={campaign.unsubscribe_count} failed={campaign.failed_count}"
        )
        if campaign.is_ab_test:
            result = campaign.ab_result or {}
            self.stdout.write(
                f"  A/B        winner={campaign.ab_winner or 'undecided'} "
                f"p={result.get('p_value', '—')} significant={result.get('significant', '—')}"
            )

    def _send(self, campaign: EmailCampaign) -> None:
        """One batch per pass, with progress. Transient failures are retried after a
        backoff (1, 2, 4… seconds, ``retry_delay``) until the sender gives them up (``MAX_RETRIES``
        attempts per send, then ``failed``)."""
        campaign.refresh_from_db()
        if campaign.status != CampaignStatus.SENDING:
            raise CommandError(
                f"campaign: {campaign.name!r} is {campaign.status}, not sending "
                "(start or resume it first)."
            )
        retry_passes = 0
        while True:
            result = campaigns.deliver(campaign.pk, budget_seconds=0)  # exactly one batch
            campaign.refresh_from_db()
            state = campaigns.progress(campaign)
            if result.batches and self.verbosity > 0:
                self.stdout.write(
                    f"  {state['done']}/{state['recipients']} ({state['percent']} %)  "
                    f"batch: sent={result.sent} failed={result.failed} "
                    f"bounced={result.bounced} skipped={result.skipped} retry={result.retried}"
                )
            if result.fatal:
                raise CommandError(f"campaign: paused on a configuration error: {result.fatal}")
            if not result.more:
                break
            if result.retried and state["remaining"]:
                self.stderr.write(f"{result.retried} sends failed transiently; retrying.")
                time.sleep(retry_delay(retry_passes))
                retry_passes += 1
            else:
                retry_passes = 0
        self.stdout.write(
            self.style.SUCCESS(
                f"{campaign.name}: {campaign.status}, sent={campaign.sent_count} "
                f"failed={campaign.failed_count} bounced={campaign.bounce_count}"
            )
        )


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)
