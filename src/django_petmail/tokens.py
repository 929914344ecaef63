"""Signed tokens for every link a subscriber follows — one salt per purpose.

A token names a subscription (and, for links inside a message, the send it came from) and is
bound to the subscription's address through a keyed digest, so a token outlives neither an
erasure nor a change of address. Tokens of one purpose never validate for another: a confirm
link cannot unsubscribe and an unsubscribe link cannot confirm.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes

from .conf import petmail_settings
from .exceptions import ExpiredToken, InvalidToken
from .models import NewsletterSubscription


class Purpose:
    CONFIRM = "confirm"
    UNSUBSCRIBE = "unsubscribe"
    PREFERENCES = "preferences"
    VIEW = "view"
    ALL = (CONFIRM, UNSUBSCRIBE, PREFERENCES, VIEW)
    # First-party tracking: compact tokens of their own (see make_open_token).
    OPEN = "open"
    CLICK = "click"
    TRACKING = (OPEN, CLICK)


@dataclass(frozen=True)
class TokenData:
    subscription_id: int
    address_digest: str
    send_id: int | None = None


def _salt(purpose: str) -> str:
    if purpose not in Purpose.ALL and purpose not in Purpose.TRACKING:
        raise ValueError(f"Unknown token purpose {purpose!r}.")
    return f"django_petmail.tokens.{purpose}"


@functools.lru_cache(maxsize=64)
def _keyed_hmac(key_salt: str, secret: bytes, algorithm: str) -> Any:
    # Django's salted_hmac derives the HMAC key (a hash of salt + secret) on every call; a
    # campaign signs three links per recipient, so derive it once per (salt, secret) and copy.
    derived = hashlib.new(algorithm, force_bytes(key_salt) + secret).digest()
    return hmac.new(derived, digestmod=algorithm)


def salted_hmac(key_salt: str, value: str | bytes, secret: Any = None, *, algorithm: str) -> Any:
    """Same bytes as :func:`django.utils.crypto.salted_hmac`, with the derived key cached."""
    mac = _keyed_hmac(
        key_salt, force_bytes(settings.SECRET_KEY if secret is None else secret), algorithm
    ).copy()
    mac.update(force_bytes(value))
    return mac


def _signature(signer: signing.Signer, value: bytes | str, key: bytes | str | None) -> str:
    """:meth:`Signer.signature`, through :func:`salted_hmac` (same tokens, same checks)."""
    mac = salted_hmac(
        f"{signer.salt!s}signer", value, key or signer.key, algorithm=str(signer.algorithm)
    )
    return signing.b64_encode(mac.digest()).decode()


class _Signer(signing.Signer):
    def signature(self, value: bytes | str, key: bytes | str | None = None) -> str:
        return _signature(self, value, key)


class _TimestampSigner(signing.TimestampSigner):
    def signature(self, value: bytes | str, key: bytes | str | None = None) -> str:
        return _signature(self, value, key)


def _signer(purpose: str) -> signing.Signer:
    return _cached_signer(
        purpose, settings.SECRET_KEY, tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    )


@functools.lru_cache(maxsize=32)
def _cached_signer(purpose: str, key: str, fallbacks: tuple[str, ...]) -> signing.Signer:
    # One signer per purpose and key set (the keys are part of the cache key, so rotating
    # them takes effect at once). Unsubscribe links never expire, so they carry no
    # timestamp: the same (subscription, send) always gives the same URL, and a message's
    # body and List-Unsubscribe header agree.
    cls = _Signer if purpose in (Purpose.UNSUBSCRIBE, Purpose.VIEW) else _TimestampSigner
    return cls(key=key, fallback_keys=list(fallbacks), salt=_salt(purpose))


def _max_age(purpose: str) -> int:
    """Age limit of the timestamped purposes (unsubscribe links carry no timestamp)."""
    if purpose == Purpose.CONFIRM:
        return petmail_settings.CONFIRMATION_MAX_AGE
    return petmail_settings.PREFERENCES_MAX_AGE


def address_digest(email: str, secret: str | None = None) -> str:
    return salted_hmac(
        "django_petmail.tokens.address", email, secret=secret, algorithm="sha256"
    ).hexdigest()[:16]


def _digest_matches(email: str, digest: str) -> bool:
    # Like the signature itself, accept digests made with a rotated-out key
    # (SECRET_KEY_FALLBACKS), so rotating the key does not break links already sent.
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(constant_time_compare(address_digest(email, s), digest) for s in secrets)


def make_token(
    purpose: str,
    subscription: NewsletterSubscription,
    send_id: int | None = None,
    *,
    digest: str | None = None,
) -> str:
    """``digest``: ``address_digest(subscription.email)`` when the caller already has it."""
    return make_tokens((purpose,), subscription, send_id, digest=digest)[purpose]


def make_tokens(
    purposes: tuple[str, ...],
    subscription: NewsletterSubscription,
    send_id: int | None = None,
    *,
    digest: str | None = None,
) -> dict[str, str]:
    """One token per purpose for the same (subscription, send): the payload is serialized
    once and signed with each purpose's salt. Each token is exactly what
    ``Signer.sign_object`` makes (JSON, URL-safe base64, no compression)."""
    payload: dict[str, Any] = {
        "s": subscription.pk,
        "a": digest or address_digest(subscription.email),
    }
    if send_id is not None:
        payload["m"] = send_id
    encoded = signing.b64_encode(
        json.dumps(payload, separators=(",", ":")).encode("latin-1")
    ).decode()
    return {purpose: _signer(purpose).sign(encoded) for purpose in purposes}


def read_token(purpose: str, token: str, *, allow_expired: bool = False) -> TokenData:
    """Verify signature, purpose and age; raise :class:`InvalidToken` / :class:`ExpiredToken`.

    ``allow_expired`` skips only the age check (to offer a fresh confirmation link).
    """
    signer = _signer(purpose)
    if not isinstance(token, str) or len(token) > 500:
        raise InvalidToken("This link is not valid.")
    try:
        if isinstance(signer, signing.TimestampSigner):
            max_age = None if allow_expired else _max_age(purpose)
            payload = signer.unsign_object(token, max_age=max_age)
        else:
            payload = signer.unsign_object(token)
    except signing.SignatureExpired:
        assert isinstance(signer, signing.TimestampSigner)
        payload = signer.unsign_object(token)
        raise ExpiredToken("This link has expired.", _subscription_id(payload)) from None
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidToken("This link is not valid.") from exc
    subscription_id = _subscription_id(payload)
    digest = payload.get("a") if isinstance(payload, dict) else None
    send_id = payload.get("m") if isinstance(payload, dict) else None
    if subscription_id is None or not isinstance(digest, str):
        raise InvalidToken("This link is not valid.")
    if send_id is not None and (not isinstance(send_id, int) or isinstance(send_id, bool)):
        raise InvalidToken("This link is not valid.")
    return TokenData(subscription_id, digest, send_id)


def _subscription_id(payload: Any) -> int | None:
    value = payload.get("s") if isinstance(payload, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def resolve_token(
    purpose: str, token: str, *, allow_expired: bool = False
) -> tuple[NewsletterSubscription, TokenData]:
    """The subscription a token names; ``InvalidToken`` if it is gone or its address changed."""
    data = read_token(purpose, token, allow_expired=allow_expired)
    subscription = NewsletterSubscription.objects.filter(pk=data.subscription_id).first()
    if subscription is None or not _digest_matches(subscription.email, data.address_digest):
        raise InvalidToken("This link no longer refers to a subscription.")
    return subscription, data


# First-party tracking tokens: one per message for the open pixel, one per link for clicks.
# They name a send, not a subscription, and are short (they sit in every link of every
# message): "<send id>.<signature>" and "<send id>.<link index>.<signature>", the signature
# a truncated HMAC-SHA256 (96 bits) with its own salt per purpose. A click's signature also
# covers the link's URL, so the token stays bound to the link it was made for even if the
# content is edited afterwards.
_TRACKING_SIGNATURE_BYTES = 12


def _tracking_signature(purpose: str, message: str, secret: str | bytes | None = None) -> str:
    mac = salted_hmac(_salt(purpose), message, secret, algorithm="sha256")
    return signing.b64_encode(mac.digest()[:_TRACKING_SIGNATURE_BYTES]).decode()


def _tracking_signature_ok(purpose: str, message: str, signature: str) -> bool:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(
        constant_time_compare(_tracking_signature(purpose, message, secret), signature)
        for secret in secrets
    )


def make_open_token(send_id: int) -> str:
    return f"{send_id}.{_tracking_signature(Purpose.OPEN, str(send_id))}"


def make_click_tokens(send_id: int, urls: list[str]) -> list[str]:
    """One token per link (in order) of one message."""
    return [
        f"{send_id}.{index}.{_tracking_signature(Purpose.CLICK, f'{send_id}.{index}.{url}')}"
        for index, url in enumerate(urls)
    ]


def _number(text: str) -> int | None:
    # ASCII digits only, no sign or leading zeros, within a bigint
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        return None
    value = int(text) if len(text) < 20 else None
    return value if value is not None and value < 2**63 else None


def read_open_token(token: str) -> int:
    """The send an open pixel token names; :class:`InvalidToken` if it is not one of ours."""
    send_text, _, signature = token.partition(".") if isinstance(token, str) else ("", "", "")
    send_id = _number(send_text)
    if (
        send_id is None
        or len(token) > 100
        or not _tracking_signature_ok(Purpose.OPEN, send_text, signature)
    ):
        raise InvalidToken("This link is not valid.")
    return send_id


@dataclass(frozen=True)
class ClickToken:
    """A click token read but not yet verified: verifying needs the link's URL, which only
    the send's content knows (:meth:`signs`)."""

    send_id: int
    index: int
    signature: str

    def signs(self, index: int, url: str) -> bool:
        """Whether the token was made for link ``index`` with target ``url`` of its send."""
        return _tracking_signature_ok(
            Purpose.CLICK, f"{self.send_id}.{index}.{url}", self.signature
        )


def read_click_token(token: str) -> ClickToken:
    """Split a click token; :class:`InvalidToken` if it cannot be one of ours."""
    parts = token.split(".") if isinstance(token, str) and len(token) <= 100 else []
    if len(parts) != 3:
        raise InvalidToken("This link is not valid.")
    send_id, index = _number(parts[0]), _number(parts[1])
    if send_id is None or index is None:
        raise InvalidToken("This link is not valid.")
    return ClickToken(send_id, index, parts[2])
