"""A registry added by another process is found by the token endpoint at the next request, not once this
process's copy of the registries table ages out; names that match nothing re-read it once per change."""

from __future__ import annotations

import pytest

from registries import models as registry_models
from registries.models import Registry
from tests.wsgi_client import WsgiClient

pytestmark = pytest.mark.django_db


def _token(client, service: str):
    return client.get("/v2/token", {"service": service, "scope": "repository:qa/app:pull"})


def test_a_registry_added_elsewhere_is_found_at_once(registry, monkeypatch):
    client = WsgiClient()
    assert _token(client, "registry.test.lan:5000").status_code == 200  # this process's copy is read
    monkeypatch.setattr(registry_models, "MISS_RECHECK_SECONDS", 3600.0)  # its own re-read would not come
    # Another process's insert: no signal reaches this one, only the authorization generation moves.
    Registry.objects.bulk_create([Registry(name="other", hostname="other.test.lan:5000", use_ssl=False)])
    assert _token(client, "other.test.lan:5000").status_code == 200


def test_unknown_names_reread_once_per_change(registry, monkeypatch):
    client = WsgiClient()
    monkeypatch.setattr(registry_models, "MISS_RECHECK_SECONDS", 3600.0)
    assert _token(client, "registry.test.lan:5000").status_code == 200
    for n in range(5):
        assert _token(client, f"nobody-{n}.test.lan:5000").status_code == 401
    forgets = []
    monkeypatch.setattr("realm.token.forget_directory", lambda: forgets.append(1))
    for n in range(5):
        assert _token(client, f"nobody-again-{n}.test.lan:5000").status_code == 401
    assert forgets == []  # no change since the first miss: no re-read
