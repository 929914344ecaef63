"""Property-based run of the API against its own OpenAPI schema (schemathesis): every GET
operation and a few POSTs, a handful of generated requests each, as a superuser with a
token. No request may get a 5xx, and no response may contradict the schema."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import EventFactory, SegmentFactory, SubscriptionFactory, TemplateFactory

CHECKS = [not_a_server_error, response_schema_conformance]
FEW = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
)
# Writes that are safe to fuzz in a test transaction (no mail leaves; sending is eager).
POSTS = r"^/petmail/api/(segments/preview|suppressions|templates)/$"


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI app sends ``request_finished``, whose ``close_old_connections`` closes a
    connection inside a transaction (the test's); Django's test client disconnects it the
    same way (on SQLite's in-memory database closing is a no-op, on PostgreSQL it is not)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, admin_user):
    EventFactory()  # a send, a campaign, a subscription and an event to list
    SubscriptionFactory()
    SegmentFactory()
    TemplateFactory()
    return Token.objects.create(user=admin_user).key


# Fetched through the WSGI app as a client would (the schema view needs no database).
schema = schemathesis.openapi.from_wsgi("/petmail/api/schema/?format=json", get_wsgi_application())


@schema.include(method="GET").parametrize()
@FEW
@pytest.mark.django_db
def test_get_operations_keep_to_the_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)


@schema.include(method="POST", path_regex=POSTS).parametrize()
@FEW
@pytest.mark.django_db
def test_some_writes_keep_to_the_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
