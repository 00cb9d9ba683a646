"""/api/version, /api/v1/_ping and /api/v1/health."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


def test_version(client_as, team):
    body = client_as("viewer").get("/api/version").json()
    assert body["api-versions"] == ["v1"]
    assert body["version"]
    assert "git" in body


def test_version_needs_credentials(db):
    assert APIClient().get("/api/version").status_code == 401


def test_ping_needs_nothing(db):
    client = APIClient()
    client.credentials(HTTP_PORTUS_AUTH="nobody:nothing")
    response = client.get("/api/v1/_ping")
    assert response.status_code == 200
    assert response.json() == {}


def health_as(user):
    """GET /api/v1/health as `user` (None: anonymous)."""
    return client_for(user).get("/api/v1/health")


class TestHealth:
    def test_no_registry_is_503(self, db):
        from accounts.services import user_create

        root = user_create(username="root", email=None, password=None, admin=True)
        response = health_as(root)
        assert response.status_code == 503
        body = response.json()
        assert body["database"] == {"msg": "database is up-to-date", "success": True}
        assert body["registry"] == {"msg": "no registry configured", "success": False}

    def test_healthy(self, admin, reachable):
        from mirror.services import heartbeat_beat

        heartbeat_beat(name="worker:1")
        response = health_as(admin)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["registry"] == {"msg": "registry is reachable", "success": True}
        assert body["background"]["success"] is True

    def test_unreachable_registry_is_503(self, admin, unreachable):
        from mirror.services import heartbeat_beat

        heartbeat_beat(name="worker:1")
        response = health_as(admin)
        assert response.status_code == 503
        assert response.json()["registry"] == {"msg": "registry is not reachable: main", "success": False}

    def test_no_background_process_is_503(self, admin, reachable):
        response = health_as(admin)
        assert response.status_code == 503
        assert response.json()["background"] == {"msg": "no background process is running", "success": False}

    def test_stale_heartbeat_is_503(self, admin, reachable):
        from datetime import timedelta

        from django.utils import timezone

        from mirror.services import heartbeat_beat

        heartbeat_beat(name="worker:1", now=timezone.now() - timedelta(hours=1))
        assert health_as(admin).status_code == 503

    def test_database_down_is_503(self, admin, monkeypatch):
        from api import health

        monkeypatch.setattr(health, "check_database", lambda: ("cannot connect to database", False))
        response = health_as(admin)
        assert response.status_code == 503
        assert response.json() == {"database": {"msg": "cannot connect to database", "success": False}}

    @pytest.mark.parametrize("who", ["anonymous", "owner", "bot"])
    def test_only_admins_see_the_components(self, request, admin, unreachable, who):
        """Everyone else learns whether all is well, not which registry is down (nor its name)."""
        user = None if who == "anonymous" else request.getfixturevalue(who)
        response = health_as(user)
        assert response.status_code == 503
        assert response.json() == {"success": False}
        assert "main" not in response.content.decode()

    def test_anonymous_healthy_answer(self, registry, reachable):
        from mirror.services import heartbeat_beat

        heartbeat_beat(name="worker:1")
        response = health_as(None)
        assert response.status_code == 200
        assert response.json() == {"success": True}

    def test_bad_credentials_are_401_not_a_peek(self, registry):
        client = APIClient()
        client.credentials(HTTP_PORTUS_AUTH="admin:wrong")
        assert client.get("/api/v1/health").status_code == 401

    def test_one_measurement_serves_every_caller_for_a_few_seconds(self, admin, monkeypatch):
        """Anonymous hits do not each call every registry."""
        from api import health
        from registries import services
        from registries.services import Reachability

        calls = []
        monkeypatch.setattr(services, "registry_check",
                            lambda **kw: calls.append(kw) or Reachability(True, "answered 401 (registry/2.0)."))
        clock = [1000.0]
        monkeypatch.setattr(health.time, "monotonic", lambda: clock[0])
        for _ in range(20):
            health_as(None)
        health_as(admin)
        assert len(calls) == 1
        clock[0] += health.CACHE_SECONDS + 0.1
        health_as(None)
        assert len(calls) == 2

    def test_a_slow_refresh_does_not_hold_other_callers(self, registry, reachable, monkeypatch):
        """While one thread measures, the others answer from the previous measurement."""
        from api import health

        health_as(None)
        clock = [health._last[0] + health.CACHE_SECONDS + 1]
        monkeypatch.setattr(health.time, "monotonic", lambda: clock[0])
        assert health._refreshing.acquire()  # as if another thread were measuring
        try:
            monkeypatch.setattr(health, "measure", lambda: pytest.fail("measured while another thread did"))
            assert health_as(None).status_code == 503
        finally:
            health._refreshing.release()
