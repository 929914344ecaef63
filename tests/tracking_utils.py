"""Helpers for the first-party tracking tests: send a campaign, find its tracking URLs."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

from django.core import mail
from django.utils import timezone

from django_petmail import campaigns
from django_petmail.models import EmailSend
from tests.factories import CampaignFactory

#: A mail client's user agent (Apple Mail on macOS, images loaded directly).
APPLE_MAIL = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)

_PIXEL = re.compile(r'<img src="([^"]*/o/[^"]+)"')
_CLICK = re.compile(r'href="([^"]*/c/[^"]+)"')


def send_campaign(html, *, subscribers=1, **fields):
    """Start (and, tasks running in process, send) a campaign; returns it and its sends,
    aged an hour so a test's opens are not too soon to be human."""
    campaign = CampaignFactory(html_content=html, **fields)
    campaigns.start(campaign)
    sends = list(EmailSend.objects.filter(campaign=campaign).order_by("pk"))
    assert len(sends) == subscribers, sends
    age(*sends)
    return campaign, sends


def age(*sends, seconds=3600):
    earlier = timezone.now() - timedelta(seconds=seconds)
    EmailSend.objects.filter(pk__in=[s.pk for s in sends]).update(
        sent_at=earlier, claimed_at=earlier
    )
    for send in sends:
        send.refresh_from_db()


def html_of(send):
    [message] = [m for m in mail.outbox if m.to == [send.email_address]]
    return message.alternatives[0][0]


def pixel_path(send):
    urls = _PIXEL.findall(html_of(send))
    assert len(urls) == 1, urls
    return urlsplit(urls[0]).path


def click_paths(send):
    return [urlsplit(url).path for url in _CLICK.findall(html_of(send))]
