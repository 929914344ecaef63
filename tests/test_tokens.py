"""Signed link tokens: one salt per purpose, tamper-proof, expiring, bound to the address."""

import time
from unittest import mock

import pytest
from django.conf import settings
from django.core import signing
from django.test import override_settings

from django_petmail.exceptions import InvalidToken
from django_petmail.tokens import (
    ExpiredToken,
    Purpose,
    address_digest,
    make_token,
    read_token,
    resolve_token,
)
from tests.factories import SendFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

EIGHT_DAYS = 8 * 24 * 3600


def signed_at(timestamp, purpose, subscription, send_id=None):
    """A genuine token whose signing clock read ``timestamp``."""
    with mock.patch("django.core.signing.time.time", return_value=timestamp):
        return make_token(purpose, subscription, send_id)


def crafted(purpose, payload):
    """A correctly signed token for an arbitrary payload (what a key holder could make)."""
    return signing.TimestampSigner(salt=f"django_petmail.tokens.{purpose}").sign_object(payload)


def flip(char):
    return "B" if char == "A" else "A"


@pytest.mark.parametrize("purpose", Purpose.ALL)
def test_round_trip_for_each_purpose(purpose):
    sub = SubscriptionFactory()
    token = make_token(purpose, sub)

    data = read_token(purpose, token)
    assert data.subscription_id == sub.pk
    assert data.send_id is None
    resolved, resolved_data = resolve_token(purpose, token)
    assert resolved == sub
    assert resolved_data == data


@pytest.mark.parametrize("made_for", Purpose.ALL)
@pytest.mark.parametrize("used_for", Purpose.ALL)
def test_token_only_validates_for_its_own_purpose(made_for, used_for):
    sub = SubscriptionFactory()
    token = make_token(made_for, sub)
    if made_for == used_for:
        assert resolve_token(used_for, token)[0] == sub
    else:
        with pytest.raises(InvalidToken):
            read_token(used_for, token)
        with pytest.raises(InvalidToken):
            resolve_token(used_for, token)


def test_confirm_token_is_not_an_unsubscribe_or_preferences_token():
    sub = SubscriptionFactory()
    confirm = make_token(Purpose.CONFIRM, sub)
    for other in (Purpose.UNSUBSCRIBE, Purpose.PREFERENCES):
        with pytest.raises(InvalidToken):
            resolve_token(other, confirm)
        with pytest.raises(InvalidToken):
            resolve_token(Purpose.CONFIRM, make_token(other, sub))


def test_tampered_payload_is_invalid():
    sub = SubscriptionFactory()
    token = make_token(Purpose.UNSUBSCRIBE, sub)
    tampered = flip(token[0]) + token[1:]
    assert tampered != token
    with pytest.raises(InvalidToken):
        read_token(Purpose.UNSUBSCRIBE, tampered)


def test_tampered_signature_is_invalid():
    sub = SubscriptionFactory()
    token = make_token(Purpose.UNSUBSCRIBE, sub)
    tampered = token[:-1] + flip(token[-1])
    with pytest.raises(InvalidToken):
        read_token(Purpose.UNSUBSCRIBE, tampered)


def test_payload_of_another_subscription_under_a_valid_signature_is_invalid():
    first, second = SubscriptionFactory(), SubscriptionFactory()
    payload_of_second = make_token(Purpose.UNSUBSCRIBE, second).split(":", 1)[0]
    rest_of_first = make_token(Purpose.UNSUBSCRIBE, first).split(":", 1)[1]
    with pytest.raises(InvalidToken):
        read_token(Purpose.UNSUBSCRIBE, f"{payload_of_second}:{rest_of_first}")


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_truncated_token_is_invalid(cut):
    sub = SubscriptionFactory()
    token = make_token(Purpose.CONFIRM, sub)
    with pytest.raises(InvalidToken):
        read_token(Purpose.CONFIRM, token[:-cut])


@pytest.mark.parametrize(
    "garbage",
    ["", ":", "::", "abc", "abc:def:ghi", "a" * 501, "x:" * 300, "ñ:ñ:ñ", "\x00"],
    ids=[
        "empty",
        "colon",
        "colons",
        "word",
        "three-parts",
        "huge",
        "huge-colons",
        "unicode",
        "nul",
    ],
)
def test_garbage_strings_are_invalid(garbage):
    with pytest.raises(InvalidToken):
        read_token(Purpose.CONFIRM, garbage)


def test_huge_token_with_a_valid_prefix_is_invalid():
    sub = SubscriptionFactory()
    token = make_token(Purpose.CONFIRM, sub)
    with pytest.raises(InvalidToken):
        read_token(Purpose.CONFIRM, token + "A" * 500)


@pytest.mark.parametrize("value", [None, 123, b"bytes", ["list"], {"s": 1}])
def test_non_string_token_is_invalid(value):
    with pytest.raises(InvalidToken):
        read_token(Purpose.CONFIRM, value)


def test_expired_confirm_token_carries_the_subscription_id():
    sub = SubscriptionFactory()
    token = signed_at(time.time() - EIGHT_DAYS, Purpose.CONFIRM, sub)

    with pytest.raises(ExpiredToken) as excinfo:
        read_token(Purpose.CONFIRM, token)
    assert excinfo.value.subscription_id == sub.pk
    assert isinstance(excinfo.value, InvalidToken)
    with pytest.raises(ExpiredToken):
        resolve_token(Purpose.CONFIRM, token)

    assert read_token(Purpose.CONFIRM, token, allow_expired=True).subscription_id == sub.pk
    assert resolve_token(Purpose.CONFIRM, token, allow_expired=True)[0] == sub


def test_confirmation_max_age_setting_is_honoured():
    sub = SubscriptionFactory()
    token = signed_at(time.time() - 120, Purpose.CONFIRM, sub)
    assert read_token(Purpose.CONFIRM, token).subscription_id == sub.pk
    with (
        override_settings(PETMAIL={**settings.PETMAIL, "CONFIRMATION_MAX_AGE": 60}),
        pytest.raises(ExpiredToken),
    ):
        read_token(Purpose.CONFIRM, token)


def test_confirm_token_within_seven_days_is_valid():
    sub = SubscriptionFactory()
    token = signed_at(time.time() - 6 * 24 * 3600, Purpose.CONFIRM, sub)
    assert resolve_token(Purpose.CONFIRM, token)[0] == sub


def test_unsubscribe_token_never_expires():
    sub = SubscriptionFactory()
    token = signed_at(time.time() - 5 * 365 * 24 * 3600, Purpose.UNSUBSCRIBE, sub)
    assert resolve_token(Purpose.UNSUBSCRIBE, token)[0] == sub


def test_preferences_token_expires_after_its_max_age():
    sub = SubscriptionFactory()
    token = signed_at(time.time() - 2 * 365 * 24 * 3600, Purpose.PREFERENCES, sub)
    with pytest.raises(ExpiredToken):
        read_token(Purpose.PREFERENCES, token)


def test_token_for_a_deleted_subscription_is_invalid():
    sub = SubscriptionFactory()
    token = make_token(Purpose.UNSUBSCRIBE, sub)
    sub.delete()
    assert read_token(Purpose.UNSUBSCRIBE, token)  # still genuine…
    with pytest.raises(InvalidToken):  # …but refers to nobody
        resolve_token(Purpose.UNSUBSCRIBE, token)


def test_token_stops_working_when_the_address_changes():
    sub = SubscriptionFactory(email="luna@example.com")
    token = make_token(Purpose.PREFERENCES, sub)
    sub.email = "coco@example.com"
    sub.save()
    with pytest.raises(InvalidToken):
        resolve_token(Purpose.PREFERENCES, token)


def test_token_survives_an_address_change_back_to_the_same_address_only():
    sub = SubscriptionFactory(email="luna@example.com")
    token = make_token(Purpose.PREFERENCES, sub)
    sub.email = "LUNA@example.com"  # normalized on save: the same inbox
    sub.save()
    assert resolve_token(Purpose.PREFERENCES, token)[0] == sub


def test_send_id_is_carried():
    send = SendFactory()
    token = make_token(Purpose.UNSUBSCRIBE, send.subscription, send.pk)
    sub, data = resolve_token(Purpose.UNSUBSCRIBE, token)
    assert sub == send.subscription
    assert data.send_id == send.pk


@pytest.mark.parametrize("purpose", ["", "CONFIRM", "login", None])
def test_unknown_purpose_is_a_programming_error(purpose):
    sub = SubscriptionFactory()
    with pytest.raises(ValueError):
        make_token(purpose, sub)
    with pytest.raises(ValueError):
        read_token(purpose, make_token(Purpose.CONFIRM, sub))


@pytest.mark.parametrize(
    "payload",
    [
        {"s": "1", "a": "digest"},
        {"s": 1.0, "a": "digest"},
        {"s": True, "a": "digest"},
        {"s": None, "a": "digest"},
        {"s": [1], "a": "digest"},
        {"a": "digest"},
        {"s": 1},
        {"s": 1, "a": 123},
        {"s": 1, "a": "digest", "m": "2"},
        {"s": 1, "a": "digest", "m": 2.5},
        {"s": 1, "a": "digest", "m": True},
        [1, "digest"],
        "just a string",
        1,
        None,
    ],
)
def test_payload_with_wrong_types_is_invalid(payload):
    for purpose in Purpose.ALL:
        token = crafted(purpose, payload)
        with pytest.raises(InvalidToken):
            read_token(purpose, token)


def test_crafted_payload_with_the_right_shape_is_read():
    """Guards the test above: the crafted tokens differ only in their types."""
    sub = SubscriptionFactory()
    token = crafted(Purpose.CONFIRM, {"s": sub.pk, "a": address_digest(sub.email), "m": 7})
    sub_found, data = resolve_token(Purpose.CONFIRM, token)
    assert sub_found == sub
    assert data.send_id == 7


def test_subscription_id_out_of_database_range_is_invalid():
    sub = SubscriptionFactory()
    token = crafted(Purpose.UNSUBSCRIBE, {"s": 2**70, "a": address_digest(sub.email)})
    with pytest.raises(InvalidToken):
        resolve_token(Purpose.UNSUBSCRIBE, token)


def test_token_signed_with_another_secret_key_is_invalid():
    sub = SubscriptionFactory()
    with override_settings(SECRET_KEY="another-secret-key-entirely"):
        token = make_token(Purpose.UNSUBSCRIBE, sub)
    with pytest.raises(InvalidToken):
        resolve_token(Purpose.UNSUBSCRIBE, token)


@pytest.mark.parametrize("purpose", Purpose.ALL)
def test_cached_key_signing_gives_djangos_exact_tokens(purpose):
    """The signer caches the derived HMAC key; its tokens are byte for byte Django's."""
    sub = SubscriptionFactory()
    django_signer = (
        signing.Signer(salt=f"django_petmail.tokens.{purpose}")
        if purpose in (Purpose.UNSUBSCRIBE, Purpose.VIEW)
        else signing.TimestampSigner(salt=f"django_petmail.tokens.{purpose}")
    )
    for secret in ("first-secret-key-for-this-test", "second-secret-key-for-this-test"):
        with (
            override_settings(SECRET_KEY=secret),
            mock.patch("django.core.signing.time.time", return_value=1_800_000_000),
        ):
            ours = make_token(purpose, sub, 42)
            payload = {"s": sub.pk, "a": address_digest(sub.email), "m": 42}
            assert ours == django_signer.__class__(salt=django_signer.salt).sign_object(payload)


def test_cached_salted_hmac_matches_django_and_follows_the_secret_key():
    from django.utils.crypto import salted_hmac as django_salted_hmac

    from django_petmail.tokens import salted_hmac

    for secret in ("one-secret-key-for-the-hmac-test", "another-key-for-the-hmac-test"):
        with override_settings(SECRET_KEY=secret):
            for value in ("a@example.com", "ñandú@example.es", b"raw bytes"):
                assert (
                    salted_hmac("salt", value, algorithm="sha256").hexdigest()
                    == django_salted_hmac("salt", value, algorithm="sha256").hexdigest()
                )
        assert (
            salted_hmac("salt", "x", secret, algorithm="sha256").digest()
            == django_salted_hmac("salt", "x", secret, algorithm="sha256").digest()
        )
