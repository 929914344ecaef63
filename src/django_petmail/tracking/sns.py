"""Amazon SNS message signatures: is this notification really from SNS, on our topic?

SES publishes tracking events to an SNS topic, which POSTs them to the webhook. Basic auth
(anymail's ``WEBHOOK_SECRET``) proves the poster knows the secret; the signature proves
Amazon SNS wrote the message, unchanged, for the topic it names. :func:`verify` checks, in
this order, without touching the database:

* the topic is allowed (``PETMAIL["SNS_TOPIC_ARNS"]``; an empty list allows any topic);
* ``Timestamp`` is no older than ``PETMAIL["SNS_MAX_AGE"]`` (nor more than 5 minutes ahead);
* ``SigningCertURL`` is ``https://sns.<region>.amazonaws.com[.cn]/….pem`` — anything else
  is refused *before* any request is made, so a message cannot make us fetch a URL of its
  choosing;
* the certificate (fetched with a timeout and a size limit, cached by URL in Django's
  default cache) is in its validity period and its RSA key verifies ``Signature`` over the
  canonical string SNS defines for the message type: ``SignatureVersion`` 1 is
  SHA1withRSA, 2 is SHA256withRSA.

Each failure raises :class:`SNSVerificationError` (a 400 in the webhook view). Replays are
refused by the view (:func:`first_sighting`), which remembers each accepted ``MessageId``
as long as a message that old is accepted at all.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import urllib.request
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..conf import petmail_settings
from ..exceptions import SNSVerificationError

__all__ = ["SNSVerificationError", "canonical_string", "cert_url_allowed", "verify"]

#: The fields signed, in order, per message type (absent optional fields are left out).
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_OPTIONAL = frozenset({"Subject"})

#: Amazon SNS's hosts, in the commercial and the China partitions.
CERT_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com(?:\.cn)?")
CERT_TIMEOUT = 5  # seconds to fetch a certificate
CERT_MAX_BYTES = 64 * 1024  # an SNS certificate is about 2 KiB
CERT_CACHE_SECONDS = 24 * 3600
CLOCK_SKEW = timedelta(minutes=5)
_CACHE_PREFIX = "petmail:sns:"


def canonical_string(message: dict[str, Any]) -> bytes:
    """What SNS signed: ``name\\nvalue\\n`` for each signed field of the message's type."""
    fields = SIGNED_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise SNSVerificationError(f"Unknown SNS message type {message.get('Type')!r}")
    parts = []
    for name in fields:
        value = message.get(name)
        if value is None and name in _OPTIONAL:
            continue
        if not isinstance(value, str):
            raise SNSVerificationError(f"SNS message field {name!r} is missing")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode()


def cert_url_allowed(url: Any) -> bool:
    """An https URL of a ``.pem`` file on an Amazon SNS host, and nothing else."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and port is None
        and parts.username is None
        and parts.password is None
        and parts.hostname is not None
        and CERT_HOST.fullmatch(parts.hostname) is not None
        and parts.path.endswith(".pem")
    )


def fetch_certificate(url: str) -> bytes:
    """GET the certificate's PEM from SNS (the URL is already known to be an SNS host)."""
    with urllib.request.urlopen(url, timeout=CERT_TIMEOUT) as response:
        pem: bytes = response.read(CERT_MAX_BYTES + 1)
    if len(pem) > CERT_MAX_BYTES:
        raise SNSVerificationError("SNS signing certificate is too large")
    return pem


def cert_cache_key(url: str) -> str:
    return _CACHE_PREFIX + "cert:" + hashlib.sha256(url.encode()).hexdigest()


def certificate_pem(url: str, fetch: Callable[[str], bytes] | None = None) -> bytes:
    """The PEM at ``url``, from the cache or fetched once and cached for a day."""
    key = cert_cache_key(url)
    pem = cache.get(key)
    if pem is None:
        try:
            pem = (fetch or fetch_certificate)(url)
        except (OSError, ValueError) as exc:  # URLError, timeouts, bad responses
            raise SNSVerificationError(
                f"Could not fetch the SNS signing certificate: {exc}"
            ) from exc
        cache.set(key, pem, CERT_CACHE_SECONDS)
    return bytes(pem)


def topic_allowed(topic_arn: Any) -> bool:
    allowed = petmail_settings.SNS_TOPIC_ARNS
    return not allowed or topic_arn in allowed


def verify(message: dict[str, Any], fetch: Callable[[str], bytes] | None = None) -> None:
    """Raise :class:`SNSVerificationError` unless ``message`` is a fresh, correctly signed
    SNS message for an allowed topic (see the module docstring for the checks)."""
    if not topic_allowed(message.get("TopicArn")):
        raise SNSVerificationError(f"SNS topic {message.get('TopicArn')!r} is not allowed")
    _check_timestamp(message.get("Timestamp"))
    version = message.get("SignatureVersion")
    algorithm = {"1": "sha1", "2": "sha256"}.get(str(version))
    if algorithm is None:
        raise SNSVerificationError(f"Unsupported SNS SignatureVersion {version!r}")
    url = message.get("SigningCertURL")
    if not isinstance(url, str) or not cert_url_allowed(url):
        raise SNSVerificationError(f"SNS SigningCertURL {url!r} is not an Amazon SNS https URL")
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SNSVerificationError("SNS Signature is not base64") from exc
    if not signature:
        raise SNSVerificationError("SNS message is not signed")
    signed = canonical_string(message)
    _check_signature(certificate_pem(url, fetch), signature, signed, algorithm)


def _check_timestamp(value: Any) -> None:
    when = parse_datetime(value) if isinstance(value, str) else None
    if when is None:
        raise SNSVerificationError(f"SNS Timestamp {value!r} is not a date and time")
    if timezone.is_naive(when):
        when = timezone.make_aware(when, UTC)
    now = timezone.now()
    if when > now + CLOCK_SKEW:
        raise SNSVerificationError(f"SNS Timestamp {value} is in the future")
    if when < now - timedelta(seconds=petmail_settings.SNS_MAX_AGE):
        raise SNSVerificationError(f"SNS Timestamp {value} is too old (replayed?)")


@functools.lru_cache(maxsize=16)
def _parsed_certificate(pem: bytes) -> Any:
    """The certificate's validity period and RSA public key, parsed once per process per
    PEM (SNS signs with a handful of certificates; each message names one of them)."""
    try:  # the ses extra installs cryptography; checks.py reports it missing (petmail.E009)
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError as exc:  # pragma: no cover - the ses extra brings it
        raise SNSVerificationError("Install 'cryptography' to verify SNS signatures") from exc
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise SNSVerificationError("The SNS signing certificate is not a PEM certificate") from exc
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SNSVerificationError("The SNS signing certificate's key is not RSA")
    return certificate.not_valid_before_utc, certificate.not_valid_after_utc, key


def _check_signature(pem: bytes, signature: bytes, signed: bytes, algorithm: str) -> None:
    try:  # the ses extra installs cryptography; checks.py reports it missing (petmail.E009)
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
    except ImportError as exc:  # pragma: no cover - the ses extra brings it
        raise SNSVerificationError("Install 'cryptography' to verify SNS signatures") from exc
    not_before, not_after, key = _parsed_certificate(pem)
    if not not_before <= timezone.now() <= not_after:
        raise SNSVerificationError("The SNS signing certificate is expired or not yet valid")
    digest = hashes.SHA1() if algorithm == "sha1" else hashes.SHA256()
    try:
        key.verify(signature, signed, padding.PKCS1v15(), digest)
    except InvalidSignature as exc:
        raise SNSVerificationError("The SNS message signature does not match") from exc


def first_sighting(message_id: str) -> bool:
    """Remember ``message_id``; ``False`` if it was seen within ``SNS_MAX_AGE`` (a replay).

    Atomic (``cache.add``) on shared caches; with a per-process cache a replay to another
    process is still stored once, by the event ledger's unique ESP event id.
    """
    return bool(cache.add(_seen_key(message_id), 1, petmail_settings.SNS_MAX_AGE))


def forget(message_id: str) -> None:
    """Forget a message whose processing failed, so SNS's retry of it is accepted."""
    cache.delete(_seen_key(message_id))


def _seen_key(message_id: str) -> str:
    return _CACHE_PREFIX + "seen:" + hashlib.sha256(message_id.encode()).hexdigest()
