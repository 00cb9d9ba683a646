"""The matrix's fixtures: the world, built once for the package; each row runs in pytest-django's
transaction (the tests are marked django_db), a savepoint inside the world's, rolled back after it."""

from __future__ import annotations

import pytest
from django.db import transaction


@pytest.fixture(scope="package")
def world(django_db_setup, django_db_blocker, signing_files):
    """The world of world.py, inside one transaction that is rolled back when the package is done (the
    rest of the suite never sees it)."""
    from tests.matrix.world import build

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def row(world, _portus_options, settings, fake_registry, monkeypatch):
    """The world for one row, with deletes enabled (so that delete rows say something); every registry
    answers the reachability check (what is checked here is who may, not whether the network works)."""
    from registries import services
    from registries.services import Reachability
    from web.views import admin

    # This test's own copy of the options (tests/conftest.py made it): changed in place, without a copy more.
    settings.PORTUS["delete"]["enabled"] = True
    answered = Reachability(True, "answered 401 (registry/2.0).")
    monkeypatch.setattr(services, "registry_check", lambda **kw: answered)
    monkeypatch.setattr(admin, "registry_check", lambda **kw: answered)
    return world
