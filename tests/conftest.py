import pytest

from tests.factories import OwnerFactory, SubscriptionFactory


@pytest.fixture
def owner(db):
    return OwnerFactory()


@pytest.fixture
def subscription(db):
    return SubscriptionFactory()
