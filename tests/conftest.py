import pytest
from django.core.cache import cache

from django_petmail import signals
from tests.factories import OwnerFactory, SubscriptionFactory


@pytest.fixture
def owner(db):
    return OwnerFactory()


@pytest.fixture
def subscription(db):
    return SubscriptionFactory()


@pytest.fixture
def subs(db):
    """Three active subscriptions (first names N0, N1, N2): a small campaign audience."""
    return [SubscriptionFactory(first_name=f"N{i}") for i in range(3)]


@pytest.fixture
def staff(admin_user):
    """A staff user (pytest-django's ``admin_user``, a superuser)."""
    return admin_user


@pytest.fixture
def api(staff):
    """A DRF ``APIClient`` logged in as ``staff``."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def anonymous_api():
    """A DRF ``APIClient`` with nobody logged in, checking CSRF as a browser session would."""
    from rest_framework.test import APIClient

    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def non_staff_api(django_user_model):
    """A DRF ``APIClient`` logged in as a user who is not staff."""
    from rest_framework.test import APIClient

    user = django_user_model._default_manager.create(
        **{django_user_model.USERNAME_FIELD: "plain@example.com"}
    )
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture(autouse=True)
def _enqueue_at_once(request, monkeypatch):
    """Lifecycle signals (and so the start of sending) go out when the transaction commits; a
    test's transaction never commits, so here they go out at once. Tests marked
    ``real_on_commit`` (test_enqueue_on_commit) prove the deferral itself."""
    if request.node.get_closest_marker("real_on_commit"):
        return
    monkeypatch.setattr(signals, "_after_commit", lambda fn: fn())


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def catch_signal():
    """``calls = catch_signal(signal)``: the keyword arguments of every send, in order."""
    connected = []

    def catch(signal):
        calls = []

        def receiver(sender, **kwargs):
            calls.append({"sender": sender, **kwargs})

        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))
        return calls

    yield catch
    for signal, receiver in connected:
        signal.disconnect(receiver)
