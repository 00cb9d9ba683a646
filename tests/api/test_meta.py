"""/api/version, /api/v1/_ping and /api/v1/health."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

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


class TestHealth:
    def test_no_registry_is_503(self, db):
        response = APIClient().get("/api/v1/health")
        assert response.status_code == 503
        body = response.json()
        assert body["database"] == {"msg": "database is up-to-date", "success": True}
        assert body["registry"] == {"msg": "no registry configured", "success": False}

    def test_healthy(self, registry, reachable):
        from webhooks.services import heartbeat_beat

        heartbeat_beat(name="worker:1")
        response = APIClient().get("/api/v1/health")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["registry"] == {"msg": "registry is reachable", "success": True}
        assert body["background"]["success"] is True

    def test_unreachable_registry_is_503(self, registry, unreachable):
        from webhooks.services import heartbeat_beat

        heartbeat_beat(name="worker:1")
        response = APIClient().get("/api/v1/health")
        assert response.status_code == 503
        assert response.json()["registry"] == {"msg": "registry is not reachable: main", "success": False}

    def test_no_background_process_is_503(self, registry, reachable):
        response = APIClient().get("/api/v1/health")
        assert response.status_code == 503
        assert response.json()["background"] == {"msg": "no background process is running", "success": False}

    def test_stale_heartbeat_is_503(self, registry, reachable):
        from datetime import timedelta

        from django.utils import timezone

        from webhooks.services import heartbeat_beat

        heartbeat_beat(name="worker:1", now=timezone.now() - timedelta(hours=1))
        assert APIClient().get("/api/v1/health").status_code == 503

    def test_database_down_is_503(self, db, monkeypatch):
        from api import health

        monkeypatch.setattr(health, "check_database", lambda: ("cannot connect to database", False))
        response = APIClient().get("/api/v1/health")
        assert response.status_code == 503
        assert response.json() == {"database": {"msg": "cannot connect to database", "success": False}}
