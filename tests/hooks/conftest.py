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
