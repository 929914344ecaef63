"""Celery app of the example clinic.

Without ``CELERY_BROKER_URL`` tasks run in-process (eager), so the demo needs no broker;
set ``CELERY_BROKER_URL=redis://127.0.0.1:6379/0`` and start a worker for real queues.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "petclinic.settings")

app = Celery("petclinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
