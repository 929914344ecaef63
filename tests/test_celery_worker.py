"""A real Celery worker process on Redis sends a campaign: the messages it writes and the
ledger agree, each recipient once."""

import email
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

from django_petmail import campaigns
from django_petmail.models import CampaignStatus, EmailCampaign, EmailSend
from petclinic.celery import app as celery_app
from tests.factories import CampaignFactory, SubscriptionFactory

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent
BROKER = "redis://127.0.0.1:6379/15"


def _drop_connections() -> None:
    """Forget pooled broker connections so the next publish uses the current broker URL."""
    celery_app.close()
    celery_app.amqp._producer_pool = None


@pytest.fixture
def worker(tmp_path):
    redis.Redis.from_url(BROKER).flushdb()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER,
        "PETMAIL_TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "PETMAIL_TEST_EMAIL_DIR": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "petclinic",
            "worker",
            "--loglevel=warning",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT / "example_project",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    previous = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    _drop_connections()  # an earlier test may have published to the in-memory broker
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = BROKER
    try:
        yield tmp_path
    finally:
        _drop_connections()
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous
        process.terminate()
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        # shown by pytest when the test fails, to explain what the worker did
        sys.stderr.write(output[-4000:])


def test_worker_sends_the_campaign(worker):
    for i in range(30):
        SubscriptionFactory(email=f"w{i}@example.com", first_name=f"W{i}")
    campaign = CampaignFactory(subject="Hola {{ first_name }}", html_content="<p>Hola</p>")
    assert campaigns.start(campaign) == 30  # enqueues send_campaign_batch on Redis
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if EmailCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT:
            break
        time.sleep(0.5)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert campaign.sent_count == 30
    recipients = []
    for path in worker.iterdir():
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                recipients.append(email.message_from_string(chunk.strip())["To"])
    assert sorted(recipients) == sorted(f"w{i}@example.com" for i in range(30))
    assert EmailSend.objects.filter(campaign=campaign, status="sent").count() == 30
