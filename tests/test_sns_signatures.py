"""SNS signature verification on the SES tracking webhook: only messages Amazon SNS signed,
for an allowed topic, fresh and never seen before, change anything; everything else is a
400 (413 for a body too large) and records nothing. Certificates are a throwaway key served
to the verifier through the cache; no test touches the network."""

import base64
import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from django_petmail.models import CampaignStatus, EmailEvent, SendStatus
from django_petmail.tracking import sns
from django_petmail.tracking.testing import TEST_CERT_URL, SNSTestSigner, sns_test_signer
from tests.factories import CampaignFactory, SendFactory
from tests.test_tracking import AUTH, TOPIC, URL, ses_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent():
    campaign = CampaignFactory(status=CampaignStatus.SENDING)
    return SendFactory(campaign=campaign, status=SendStatus.SENT, esp_message_id="ses-1")


@pytest.fixture
def fetches(monkeypatch):
    """Every certificate fetch the verifier attempts (none reaches the network)."""
    calls = []

    def fetch(url):
        calls.append(url)
        raise OSError("no network in tests")

    monkeypatch.setattr(sns, "fetch_certificate", fetch)
    return calls


def notification(send, sns_id="sns-1", **fields):
    return {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": TOPIC,
        "Message": json.dumps(ses_event(send, "Bounce")),
        "Timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
        **fields,
    }


def deliver(message, *, kind="Notification"):
    body = message if isinstance(message, str | bytes) else json.dumps(message)
    sns_id = message.get("MessageId", "x") if isinstance(message, dict) else "x"
    return Client(raise_request_exception=False).post(
        URL,
        body,
        content_type="text/plain",
        headers={
            "authorization": AUTH,
            "x-amz-sns-message-type": kind,
            "x-amz-sns-message-id": sns_id,
        },
    )


def nothing_changed(send):
    send.refresh_from_db()
    return send.status == SendStatus.SENT and not EmailEvent.objects.exists()


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_correctly_signed_notification_is_accepted(sent, fetches, version):
    response = deliver(sns_test_signer().sign(notification(sent), version=version))
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == SendStatus.BOUNCED
    assert fetches == []  # the certificate came from the cache


def test_a_certificate_is_fetched_once_and_cached(sent, monkeypatch):
    signer = sns_test_signer()
    calls = []
    monkeypatch.setattr(sns, "fetch_certificate", lambda url: calls.append(url) or signer.pem)
    signed = signer.sign(notification(sent, "a"))
    cache.clear()  # nothing cached: the verifier fetches
    assert deliver(signed).status_code == 200
    assert deliver(signer.sign(notification(sent, "b"))).status_code == 200
    assert calls == [TEST_CERT_URL]


def test_an_unsigned_notification_is_refused(sent, fetches):
    assert deliver(notification(sent)).status_code == 400
    assert nothing_changed(sent) and fetches == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m | {"Message": m["Message"].replace("Bounce", "Complaint", 1)},
        lambda m: m | {"Signature": SNSTestSigner().signature(m)},  # another key
        lambda m: m | {"Signature": "not base64!"},
        lambda m: m | {"Signature": ""},
        lambda m: m | {"SignatureVersion": "3"},
        lambda m: m | {"Subject": "added after signing"},
    ],
    ids=["message", "other-key", "not-base64", "empty", "version", "subject"],
)
def test_a_wrongly_signed_notification_is_refused(sent, fetches, tamper):
    signed = sns_test_signer().sign(notification(sent))
    assert deliver(tamper(signed)).status_code == 400
    assert nothing_changed(sent)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://attacker.example/SimpleNotificationService-x.pem",
        "https://sns.eu-west-1.amazonaws.com.attacker.example/x.pem",
        "https://attacker.example/sns.eu-west-1.amazonaws.com/x.pem",
        "https://user@sns.eu-west-1.amazonaws.com/x.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/x.pem",
        "https://sns.eu-west-1.amazonaws.com/x.txt",
        "https://s3.amazonaws.com/x.pem",
        "https://sns.eu-west-1.amazonaws.com:bad/x.pem",
        "",
    ],
)
def test_a_certificate_url_off_host_or_over_http_is_refused_without_a_fetch(sent, fetches, url):
    signer = SNSTestSigner(cert_url=url)
    message = notification(sent) | {"SignatureVersion": "1", "SigningCertURL": url}
    message["Signature"] = signer.signature(message)
    assert deliver(message).status_code == 400
    assert fetches == []
    assert nothing_changed(sent)


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
    ],
)
def test_sns_certificate_urls_of_every_partition_are_accepted(url):
    assert sns.cert_url_allowed(url)


def test_an_unreachable_or_unreadable_certificate_is_a_400(sent, fetches, monkeypatch):
    signed = sns_test_signer().sign(notification(sent, "a"))
    cache.clear()
    assert deliver(signed).status_code == 400  # the fetch failed
    assert fetches == [TEST_CERT_URL]
    monkeypatch.setattr(sns, "fetch_certificate", lambda url: b"not a certificate")
    assert deliver(signed).status_code == 400
    assert nothing_changed(sent)


def test_a_huge_certificate_download_is_cut_short(monkeypatch):
    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, limit):
            return b"x" * limit

    monkeypatch.setattr(sns.urllib.request, "urlopen", lambda url, timeout: Response())
    with pytest.raises(sns.SNSVerificationError):
        sns.fetch_certificate(TEST_CERT_URL)


def test_an_expired_certificate_is_refused(sent, fetches, monkeypatch):
    signed = sns_test_signer().sign(notification(sent))
    later = timezone.now() + timedelta(days=400)
    monkeypatch.setattr(sns, "_check_timestamp", lambda value: None)
    monkeypatch.setattr(sns.timezone, "now", lambda: later)
    assert deliver(signed).status_code == 400
    assert nothing_changed(sent)


@override_settings(PETMAIL={"SNS_TOPIC_ARNS": ["arn:aws:sns:eu-west-1:123456789012:other"]})
def test_a_topic_not_allowed_is_refused(sent, fetches):
    assert deliver(sns_test_signer().sign(notification(sent))).status_code == 400
    assert nothing_changed(sent)


@override_settings(PETMAIL={"SNS_TOPIC_ARNS": [TOPIC]})
def test_an_allowed_topic_is_accepted(sent):
    assert deliver(sns_test_signer().sign(notification(sent))).status_code == 200


def test_a_replayed_notification_is_refused(sent):
    signed = sns_test_signer().sign(notification(sent))
    assert deliver(signed).status_code == 200
    assert deliver(signed).status_code == 400
    assert EmailEvent.objects.count() == 1


@pytest.mark.parametrize(
    "timestamp",
    [
        lambda: (timezone.now() - timedelta(hours=2)).isoformat(),
        lambda: (timezone.now() + timedelta(hours=1)).isoformat(),
        lambda: "yesterday",
    ],
    ids=["old", "future", "garbage"],
)
def test_a_stale_or_undated_notification_is_refused(sent, fetches, timestamp):
    signed = sns_test_signer().sign(notification(sent, Timestamp=timestamp()))
    assert deliver(signed).status_code == 400
    assert nothing_changed(sent)


def test_a_naive_timestamp_is_taken_as_utc(sent):
    naive = timezone.now().replace(tzinfo=None).isoformat()
    assert deliver(sns_test_signer().sign(notification(sent, Timestamp=naive))).status_code == 200


def test_a_body_too_large_is_refused_with_413_before_parsing(sent, fetches):
    big = sns_test_signer().sign(notification(sent, Message="x" * (256 * 1024)))
    assert deliver(big).status_code == 413
    assert nothing_changed(sent)
    with override_settings(PETMAIL={"WEBHOOK_MAX_BYTES": 1024}):
        assert deliver(sns_test_signer().sign(notification(sent))).status_code == 413


@pytest.mark.parametrize(
    "body",
    [json.dumps([1, 2]), json.dumps({"Type": "Nonsense", "MessageId": "x"})],
)
def test_messages_of_the_wrong_shape_are_400(sent, body):
    kind = "Nonsense" if "Nonsense" in body else "Notification"
    assert deliver(body, kind=kind).status_code == 400


def test_a_canonical_string_needs_its_fields():
    with pytest.raises(sns.SNSVerificationError):
        sns.canonical_string({"Type": "Notification", "MessageId": "x"})
    with pytest.raises(sns.SNSVerificationError):
        sns.canonical_string({"Type": "Nonsense"})


@override_settings(PETMAIL={"SNS_VERIFY_SIGNATURES": False})
def test_with_verification_off_unsigned_messages_pass_but_topics_are_still_checked(sent):
    assert deliver(notification(sent, "a")).status_code == 200
    with override_settings(PETMAIL={"SNS_VERIFY_SIGNATURES": False, "SNS_TOPIC_ARNS": ["t"]}):
        assert deliver(notification(sent, "b")).status_code == 400


# Subscription confirmations -------------------------------------------------------------


def confirmation(topic=TOPIC):
    return sns_test_signer().sign(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "confirm-1",
            "Token": "token-1",
            "TopicArn": topic,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
            "Timestamp": timezone.now().isoformat(),
        }
    )


@pytest.fixture
def confirmed(monkeypatch):
    """The topics anymail would confirm with SNS (its boto3 call, replaced)."""
    from anymail.webhooks.amazon_ses import AmazonSESBaseWebhookView

    topics = []
    monkeypatch.setattr(
        AmazonSESBaseWebhookView,
        "auto_confirm_sns_subscription",
        lambda self, message: topics.append(message["TopicArn"]),
    )
    return topics


@override_settings(PETMAIL={"SNS_TOPIC_ARNS": [TOPIC]})
def test_a_subscription_to_an_allowed_topic_is_confirmed(confirmed):
    assert deliver(confirmation(), kind="SubscriptionConfirmation").status_code == 200
    assert confirmed == [TOPIC]


@override_settings(PETMAIL={"SNS_TOPIC_ARNS": [TOPIC]})
def test_a_subscription_to_another_topic_is_refused(confirmed):
    other = "arn:aws:sns:eu-west-1:999999999999:attacker"
    assert deliver(confirmation(other), kind="SubscriptionConfirmation").status_code == 400
    assert confirmed == []


def test_without_allowed_topics_subscriptions_are_confirmed_only_in_debug(confirmed):
    assert deliver(confirmation(), kind="SubscriptionConfirmation").status_code == 400
    assert confirmed == []
    cache.clear()
    with override_settings(DEBUG=True):
        assert deliver(confirmation(), kind="SubscriptionConfirmation").status_code == 200
    assert confirmed == [TOPIC]


def test_a_forged_subscription_confirmation_is_refused(confirmed):
    message = confirmation() | {"Token": "another-token"}
    with override_settings(DEBUG=True):
        assert deliver(message, kind="SubscriptionConfirmation").status_code == 400
    assert confirmed == []


def test_an_unsubscribe_confirmation_is_verified_and_ignored():
    message = confirmation() | {"Type": "UnsubscribeConfirmation"}
    message = sns_test_signer().sign(message)
    assert deliver(message, kind="UnsubscribeConfirmation").status_code == 200
    tampered = message | {"MessageId": "confirm-2", "Token": "x"}
    assert deliver(tampered, kind="UnsubscribeConfirmation").status_code == 400


def test_basic_auth_is_checked_before_any_certificate_is_fetched(sent, fetches):
    signed = sns_test_signer().sign(notification(sent))
    cache.clear()
    wrong = "Basic " + base64.b64encode(b"petclinic:wrong").decode()
    response = Client().post(
        URL,
        json.dumps(signed),
        content_type="text/plain",
        headers={
            "authorization": wrong,
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": signed["MessageId"],
        },
    )
    assert response.status_code == 400
    assert fetches == []


def test_a_certificate_is_fetched_over_https_with_a_timeout(monkeypatch):
    seen = {}

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, limit):
            return b"-----BEGIN CERTIFICATE-----"

    def urlopen(url, timeout):
        seen.update(url=url, timeout=timeout)
        return Response()

    monkeypatch.setattr(sns.urllib.request, "urlopen", urlopen)
    assert sns.fetch_certificate(TEST_CERT_URL).startswith(b"-----BEGIN")
    assert seen == {"url": TEST_CERT_URL, "timeout": sns.CERT_TIMEOUT}
    assert not sns.cert_url_allowed(None)


def test_a_certificate_without_an_rsa_key_is_refused(sent, fetches, monkeypatch):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = timezone.now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    signed = sns_test_signer().sign(notification(sent))
    cache.set(
        sns.cert_cache_key(TEST_CERT_URL), certificate.public_bytes(serialization.Encoding.PEM)
    )
    assert deliver(signed).status_code == 400
    assert nothing_changed(sent)


def test_an_unparsable_content_length_reads_nothing(sent):
    response = Client().post(
        URL,
        "{}",
        content_type="text/plain",
        headers={"authorization": AUTH, "x-amz-sns-message-type": "Notification"},
        CONTENT_LENGTH="lots",
    )
    assert response.status_code == 400


def test_a_certificate_is_parsed_once_per_process(sent):
    signer = sns_test_signer()
    sns._parsed_certificate.cache_clear()
    assert deliver(signer.sign(notification(sent, "p-1"))).status_code == 200
    assert deliver(signer.sign(notification(sent, "p-2"))).status_code == 200
    info = sns._parsed_certificate.cache_info()
    assert (info.misses, info.hits) == (1, 1)
