import pytest

from tests.hooks.receiver import Receiver
from tests.webhooks.fakes import fake_registry  # noqa: F401


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def private_allowed(options):
    """Deliveries to loopback allowed (the test's server listens there)."""
    options.set("webhooks.allow_private_targets", True)


@pytest.fixture
def as_user(db):
    """as_user(actor) → a test client with that actor's session (None: anonymous)."""
    from django.test import Client

    def make(user=None, *, enforce_csrf: bool = False) -> Client:
        client = Client(enforce_csrf_checks=enforce_csrf)
        if user is not None:
            client.force_login(user, backend="accounts.backends.PortusBackend")
        return client

    return make
