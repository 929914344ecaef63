"""Settings of the example clinic.

Defaults need nothing but Python: SQLite, tasks in-process, email printed on the console
(where ``runserver`` runs; ``manage.py demo`` captures it instead). Environment variables
switch to production-like services:

* ``DATABASE_URL`` (e.g. ``postgres://postgres@127.0.0.1:5432/petclinic``) → PostgreSQL
* ``CELERY_BROKER_URL`` (e.g. ``redis://127.0.0.1:6379/0``) → real Celery queues
* ``EMAIL_BACKEND`` → any Django/anymail backend (see SES below)
* ``PETMAIL_OWNER_MODEL`` → who owns a subscription (``auth.User`` or ``clinic.Owner``)
* ``SITE_URL`` → the base of links in emails; by default it follows ``runserver``'s address
"""

import os
import sys
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def runserver_site_url(argv: list[str]) -> str:
    """``http://localhost:<port>`` for ``manage.py runserver [addr:]port``, so the links in
    mail sent by a development server point at it; ``http://localhost:8000`` otherwise."""
    if "runserver" not in argv:
        return "http://localhost:8000"
    given = [a for a in argv[argv.index("runserver") + 1 :] if not a.startswith("-")]
    address = given[0] if given else "8000"
    host, _, port = address.rpartition(":")
    if host in ("", "0", "0.0.0.0", "[::]", "127.0.0.1"):
        host = "localhost"
    return f"http://{host}:{port}" if port.isdigit() else "http://localhost:8000"


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


SECRET_KEY = os.environ.get("SECRET_KEY", "petclinic-insecure-development-key-change-me")
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "anymail",
    "rest_framework",
    "drf_spectacular",  # the API schema's Swagger UI and ReDoc templates
    "drf_spectacular_sidecar",  # their vendored static assets
    "rest_framework.authtoken",  # tokens for server-to-server API clients (optional)
    "django_celery_beat",
    "django_petmail",
    "clinic",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "petclinic.urls"
WSGI_APPLICATION = "petclinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "es"
LANGUAGES = [("es", "Español"), ("en", "English")]
TIME_ZONE = "Europe/Madrid"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = BASE_DIR / "media"

# --- django-petmail -----------------------------------------------------------------------
# Who owns a subscription. auth.User by default; "clinic.Owner" shows a customer record that
# is not a login account.
PETMAIL_OWNER_MODEL = os.environ.get("PETMAIL_OWNER_MODEL", "auth.User")
PETMAIL = {
    "SITE_URL": os.environ.get("SITE_URL") or runserver_site_url(sys.argv),
    "ADAPTER": "clinic.adapter.ClinicAdapter",
    "FROM_EMAIL": "Clínica Veterinaria Huellas <hola@huellas.example>",
    "POSTAL_ADDRESS": "Clínica Veterinaria Huellas, Calle Mayor 1, 28013 Madrid",
    # without a broker, campaigns are sent in the request that starts them (development only)
    "SEND_IN_PROCESS": "CELERY_BROKER_URL" not in os.environ,
}

# --- Email ----------------------------------------------------------------------------------
# Default: the console backend, so a developer reads every message (confirmations, tests,
# campaigns) in the terminal running `runserver`; `manage.py demo` captures mail instead, and
# sends through its SMTP sink where it shows SMTP. For Amazon SES:
#   EMAIL_BACKEND = "anymail.backends.amazon_ses.EmailBackend"
#   ANYMAIL = {"AMAZON_SES_CLIENT_PARAMS": {"region_name": "eu-west-1"},
#              "AMAZON_SES_CONFIGURATION_SET_NAME": "petmail-tracking"}
# with AWS credentials from the environment (boto3's usual chain).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "1025"))
DEFAULT_FROM_EMAIL = "Clínica Veterinaria Huellas <hola@huellas.example>"
ANYMAIL = {
    "AMAZON_SES_CLIENT_PARAMS": {
        "region_name": os.environ.get("AWS_REGION", "eu-west-1"),
    },
    "AMAZON_SES_CONFIGURATION_SET_NAME": os.environ.get("SES_CONFIGURATION_SET", ""),
    "WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", "petclinic:webhook-secret"),
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", None)
CELERY_TASK_ALWAYS_EAGER = "CELERY_BROKER_URL" not in os.environ
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
}
