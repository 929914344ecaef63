"""Settings of ``make bench``: the example clinic plus the peers measured beside it
(django-newsletter and django-post-office), every message built by ``MimeBackend``."""

from pathlib import Path

from petclinic.settings import *  # noqa: F403
from petclinic.settings import INSTALLED_APPS, TEMPLATES

INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.sites", "newsletter", "post_office"]
SITE_ID = 1
ROOT_URLCONF = "bench.urls"

# django-newsletter looks its message templates up by newsletter slug:
# bench/templates/newsletter/message/bench-render/message{_subject.txt,.txt,.html}.
TEMPLATES = [{**TEMPLATES[0], "DIRS": [Path(__file__).resolve().parent / "templates"]}]

# Every mailer of the run (petmail's drain, django-newsletter's message.send(), post-office's
# delivery) hands its messages to the same backend, which builds their MIME bytes.
EMAIL_BACKEND = "bench.backends.MimeBackend"

NEWSLETTER_THUMBNAIL = "sorl-thumbnail"  # its Article image field needs one; no image is sent
NEWSLETTER_USE_HTTPS = True

# post-office's defaults (batches of 100, a Log row per sent email, no retries), except: it
# delivers through MimeBackend, and with one sending thread, like petmail and the floor (its
# threads overlap network waits, which an in-process backend does not have).
POST_OFFICE = {
    "BACKENDS": {"default": "bench.backends.MimeBackend"},
    "THREADS_PER_PROCESS": 1,
}

# post-office logs each batch at INFO on stderr; keep the table readable.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"post_office": {"handlers": ["console"], "level": "WARNING"}},
}
