"""Test settings: the example clinic as host project, the database chosen by DATABASE_URL.

* no DATABASE_URL → SQLite
* ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/petmail`` → PostgreSQL
* ``PETMAIL_OWNER_MODEL=clinic.Owner`` → owners are not the auth user
"""

import os

import dj_database_url

from petclinic.settings import *  # noqa: F403

DATABASES = {
    "default": dj_database_url.config(default="sqlite:///:memory:", conn_max_age=0),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}

SECRET_KEY = "petmail-tests-not-secret"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = os.environ.get("PETMAIL_TEST_EMAIL_BACKEND", "anymail.backends.test.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("PETMAIL_TEST_EMAIL_DIR", "/tmp/petmail-test-mail")
CELERY_TASK_ALWAYS_EAGER = "CELERY_BROKER_URL" not in os.environ
PETMAIL = {
    "SITE_URL": "https://clinic.test",
    "ADAPTER": "clinic.adapter.ClinicAdapter",
    "FROM_EMAIL": "Clínica Huellas <hola@huellas.example>",
    "POSTAL_ADDRESS": "Calle Mayor 1, 28013 Madrid",
}
LANGUAGE_CODE = "es"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
