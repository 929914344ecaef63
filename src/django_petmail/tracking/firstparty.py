"""First-party opens and clicks (the pixel and the click redirects) → the ledger, through the
same :func:`~django_petmail.tracking.events.record` as ESP events.

Some opens and clicks are made by machines, not people: Apple Mail Privacy Protection fetches
every image of every message through Apple's proxies when the message arrives, and corporate
link scanners follow every link of a message within seconds of delivery. Those are stored
(``EmailEvent.is_machine``) but move neither the send's ``opened_at``/``clicked_at`` nor the
counters, so unique open and click rates stay about people. The tests are heuristics — see
:func:`is_machine` and docs/tracking.md for what they catch and miss.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime

from anymail.signals import EventType as AnymailEvent
from django.utils import timezone

from ..conf import petmail_settings
from ..models import EmailEvent, EmailSend
from .events import Incoming, record

#: Tokens of a real browser or mail client's user agent. Apple's privacy proxy sends a bare
#: "Mozilla/5.0"; Apple Mail itself (no proxy) sends "… AppleWebKit/… (KHTML, like Gecko)"
#: without any of these, so the IP range is what tells them apart.
_BROWSER_TOKENS = ("Safari/", "Chrome/", "Firefox/", "Edg/", "OPR/", "Thunderbird/", "Outlook")


def client_address(value: object) -> str | None:
    """``REMOTE_ADDR`` as stored in ``EmailEvent.ip_address``, or ``None`` if it is not an
    IP address (behind a proxy, the host sets ``REMOTE_ADDR`` from the proxy's header)."""
    try:
        return str(ipaddress.ip_address(str(value or "").strip()))
    except ValueError:
        return None


def _in_machine_networks(ip: str | None) -> bool:
    if ip is None:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in network for network in petmail_settings.MACHINE_OPEN_NETWORKS)


def is_privacy_proxy(ip: str | None, user_agent: str) -> bool:
    """An image fetch by a mail privacy proxy (Apple Mail Privacy Protection) or a client
    that names no browser at all: no user agent, a bare ``Mozilla/5.0``, or a request from
    ``MACHINE_OPEN_NETWORKS`` (Apple's 17.0.0.0/8 by default) without a browser token."""
    agent = user_agent.strip()
    if not agent or agent == "Mozilla/5.0":
        return True
    return _in_machine_networks(ip) and not any(token in agent for token in _BROWSER_TOKENS)


def is_too_soon(send: EmailSend, now: datetime) -> bool:
    """Within ``MACHINE_OPEN_SECONDS`` of the message's delivery (else of its sending, else
    of its claim by a worker): faster than a person, the speed of a link scanner."""
    window = petmail_settings.MACHINE_OPEN_SECONDS
    since = send.delivered_at or send.sent_at or send.claimed_at
    return bool(window) and since is not None and (now - since).total_seconds() < window


def is_machine(send: EmailSend, *, ip: str | None, user_agent: str, now: datetime) -> bool:
    return is_privacy_proxy(ip, user_agent) or is_too_soon(send, now)


def record_open(
    send: EmailSend, *, ip: str | None, user_agent: str, machine: bool = False
) -> EmailEvent | None:
    """Record an open of ``send`` (its pixel was fetched). ``machine``: the caller already
    knows a machine made it (e.g. a HEAD request)."""
    return _record(AnymailEvent.OPENED, send, ip=ip, user_agent=user_agent, machine=machine)


def record_click(
    send: EmailSend,
    *,
    url: str,
    tag: str,
    ip: str | None,
    user_agent: str,
    machine: bool = False,
) -> EmailEvent | None:
    """Record a click on the link ``url`` (tagged ``tag``) of ``send``; also an open."""
    return _record(
        AnymailEvent.CLICKED,
        send,
        ip=ip,
        user_agent=user_agent,
        machine=machine,
        url=url,
        tag=tag,
    )


def _record(
    event_type: str,
    send: EmailSend,
    *,
    ip: str | None,
    user_agent: str,
    machine: bool,
    url: str = "",
    tag: str = "",
) -> EmailEvent | None:
    if send.subscription_id is None:
        return None  # the subscriber was erased: links still work, nothing is recorded
    now = timezone.now()
    user_agent = user_agent[:500]
    return record(
        Incoming(
            event_type=event_type,
            event_id=None,  # first-party events have no ESP id (NULLs never collide)
            message_id=None,
            recipient=None,
            metadata={"send_id": send.pk},
            timestamp=now,
            click_url=url[:2000],
            user_agent=user_agent,
            ip_address=ip,
            link_tag=tag,
            is_machine=machine or is_machine(send, ip=ip, user_agent=user_agent, now=now),
        )
    )
