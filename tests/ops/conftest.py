from tests.webhooks.fakes import fake_registry  # noqa: F401
