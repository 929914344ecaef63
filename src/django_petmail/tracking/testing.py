"""Signed SNS messages for tests and demos, without Amazon and without network.

    signer = sns_test_signer()
    body = signer.sign({"Type": "Notification", "MessageId": …, "TopicArn": …, …})

:class:`SNSTestSigner` holds a throwaway RSA key and a self-signed certificate. ``sign``
adds ``SignatureVersion``, ``SigningCertURL`` and ``Signature`` to a message and puts the
certificate in the cache under its (Amazon-looking) URL, where the webhook's verifier
finds it without fetching anything. Needs ``cryptography`` (the ``ses`` extra).
"""

from __future__ import annotations

import base64
import functools
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from .sns import CERT_CACHE_SECONDS, canonical_string, cert_cache_key

TEST_CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-petmail-test.pem"


class SNSTestSigner:
    """Signs SNS messages as Amazon would, with a key of its own."""

    def __init__(self, cert_url: str = TEST_CERT_URL) -> None:
        # the ses extra brings cryptography; only tests and the demo sign messages
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.cert_url = cert_url
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = timezone.now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .sign(self.key, hashes.SHA256())
        )
        self.pem = certificate.public_bytes(serialization.Encoding.PEM)

    def install(self) -> None:
        """Put the certificate where the verifier looks first: the cache, by URL."""
        cache.set(cert_cache_key(self.cert_url), self.pem, CERT_CACHE_SECONDS)

    def signature(self, message: dict[str, Any], version: str = "1") -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        signed = self.key.sign(canonical_string(message), padding.PKCS1v15(), digest)
        return base64.b64encode(signed).decode()

    def sign(self, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
        """``message`` with a valid signature (version ``"1"`` or ``"2"``); installs the
        certificate."""
        self.install()
        signed = {**message, "SignatureVersion": version, "SigningCertURL": self.cert_url}
        signed["Signature"] = self.signature(signed, version)
        return signed


@functools.cache
def sns_test_signer() -> SNSTestSigner:
    """One signer per process: making an RSA key takes a moment."""
    return SNSTestSigner()
