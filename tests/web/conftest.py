"""Fixtures of the web UI tests: clients signed in as the named actors."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def as_user(db):
    """as_user(actor) → a test client with that actor's session (None: anonymous)."""

    def make(user=None, *, enforce_csrf: bool = False) -> Client:
        client = Client(enforce_csrf_checks=enforce_csrf)
        if user is not None:
            client.force_login(user, backend="accounts.backends.PortusBackend")
        return client

    return make


@pytest.fixture
def unreachable(monkeypatch):
    """Every registry check fails, as for a registry that is down."""
    from registries import services
    from registries.services import Reachability
    from web.views import admin

    result = Reachability(False, "http://registry.test.lan:5000/v2/ is not reachable: ConnectionError.")
    monkeypatch.setattr(services, "registry_check", lambda **kwargs: result)
    monkeypatch.setattr(admin, "registry_check", lambda **kwargs: result)
    return result


@pytest.fixture
def reachable(monkeypatch):
    from registries import services
    from registries.services import Reachability
    from web.views import admin

    result = Reachability(True, "http://registry.test.lan:5000/v2/ answered 401 (registry/2.0).")
    monkeypatch.setattr(services, "registry_check", lambda **kwargs: result)
    monkeypatch.setattr(admin, "registry_check", lambda **kwargs: result)
    return result
