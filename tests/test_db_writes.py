"""Set-based writes: ``update_from_pairs`` sets per-row values, constants and increments in
one statement, only on rows matching its guard, and reports how many rows it changed."""

import pytest
from django.utils import timezone

from django_petmail import db
from django_petmail.models import EmailSend, SendStatus
from tests.factories import CampaignFactory, SendFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["update-from", "correlated-subquery"])
def path(request, monkeypatch):
    """Both SQL forms: UPDATE … FROM (VALUES …) and the fallback for SQLite < 3.33."""
    if request.param == "correlated-subquery":
        monkeypatch.setattr(db, "_has_update_from", lambda connection: False)
    return request.param


def test_sets_values_constants_and_increments_only_where_the_guard_holds(path):
    campaign = CampaignFactory()
    sending = [SendFactory(campaign=campaign, status=SendStatus.SENDING) for _ in range(3)]
    reaped = SendFactory(campaign=campaign, status=SendStatus.UNKNOWN)
    now = timezone.now()
    pairs = [(s.pk, f"<{s.pk}@esp>") for s in [*sending, reaped]]

    changed = db.update_from_pairs(
        EmailSend,
        "esp_message_id",
        pairs,
        also={"status": SendStatus.SENT, "sent_at": now},
        increment=("attempts",),
        where={"status": SendStatus.SENDING},
    )

    assert changed == 3
    for send in sending:
        send.refresh_from_db()
        assert (send.status, send.esp_message_id, send.attempts) == (
            SendStatus.SENT,
            f"<{send.pk}@esp>",
            1,
        )
        assert send.sent_at == now
    reaped.refresh_from_db()
    assert (reaped.status, reaped.esp_message_id, reaped.attempts, reaped.sent_at) == (
        SendStatus.UNKNOWN,
        "",
        0,
        None,
    )


def test_chunks_add_up_and_nothing_to_do_is_zero(path):
    sends = [SendFactory(status=SendStatus.SENDING) for _ in range(5)]
    pairs = [(s.pk, f"e{s.pk}") for s in sends]
    assert db.update_from_pairs(EmailSend, "esp_message_id", pairs, chunk=2) == 5
    assert db.update_from_pairs(EmailSend, "esp_message_id", []) == 0
    assert sorted(EmailSend.objects.values_list("esp_message_id", flat=True)) == sorted(
        f"e{s.pk}" for s in sends
    )
