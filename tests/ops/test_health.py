"""/api/v1/health: 503 when the real registry stops and 200 again when it is back; the inbox's lag; the
background's heartbeat; details for admins only."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.test import Client
from django.utils import timezone

from api import health
from mirror.management.commands.bench_sync import REGISTRY_BINARY, registry_config
from mirror.models import Event
from mirror.services import heartbeat_beat
from registries.models import Registry


@pytest.fixture(autouse=True)
def _fresh_health():
    health.forget()
    yield
    health.forget()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealRegistry:
    """Debian's docker-registry on a port of its own, stopped and started again by the test."""

    def __init__(self, work: Path) -> None:
        self.port = _free_port()
        self.config = work / "config.yml"
        self.config.write_text(json.dumps(registry_config(port=self.port, storage=work / "storage")))
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([REGISTRY_BINARY, "serve", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{self.port}/v2/", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError("the registry did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def real_registry(tmp_path, db):
    if not Path(REGISTRY_BINARY).exists():
        pytest.skip("Debian's docker-registry is missing")
    running = RealRegistry(tmp_path)
    running.start()
    Registry.objects.create(name="real", hostname=f"127.0.0.1:{running.port}", use_ssl=False)
    yield running
    running.stop()


def _health(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    health.forget()
    return client.get("/api/v1/health")


@pytest.mark.e2e
def test_health_follows_the_real_registry_down_and_back(real_registry):
    from accounts.services import user_create

    root = user_create(username="root", email=None, password=None, admin=True)
    heartbeat_beat(name="worker:1")
    response = _health()
    assert response.status_code == 200 and response.json() == {"success": True}
    real_registry.stop()
    response = _health()
    assert response.status_code == 503 and response.json() == {"success": False}
    assert _health(root).json()["registry"] == {"msg": "registry is not reachable: real", "success": False}
    real_registry.start()
    heartbeat_beat(name="worker:1")
    response = _health(root)
    assert response.status_code == 200, response.json()
    assert response.json()["registry"] == {"msg": "registry is reachable", "success": True}


@pytest.fixture
def reachable(monkeypatch):
    from registries import services
    from registries.services import Reachability

    monkeypatch.setattr(services, "registry_check", lambda **kw: Reachability(True, "answered 401 (registry/2.0)."))


def _waiting_event(received_ago: timedelta) -> Event:
    now = timezone.now()
    return Event.objects.create(event_id=f"e-{received_ago.total_seconds()}", action="push", repository="qa/app",
                                tag="latest", timestamp=now, raw="{}", received_at=now - received_ago,
                                next_attempt_at=now - received_ago)


def test_an_inbox_that_lags_makes_it_unhealthy(admin, reachable, options):
    options.set("health.max_inbox_lag", 300)
    heartbeat_beat(name="worker:1")
    _waiting_event(timedelta(seconds=20))
    response = _health(admin)
    assert response.status_code == 200
    assert response.json()["inbox"] == {"msg": "the oldest due event has waited 20 s", "success": True}
    _waiting_event(timedelta(minutes=10))
    response = _health(admin)
    assert response.status_code == 503
    assert response.json()["inbox"] == {"msg": "the oldest due event has waited 600 s, more than 300 s",
                                        "success": False}
    assert _health().json() == {"success": False}  # anonymous callers learn only that


def test_an_empty_inbox_is_healthy(admin, reachable):
    heartbeat_beat(name="worker:1")
    assert _health(admin).json()["inbox"] == {"msg": "no event is waiting", "success": True}


def test_a_stopped_background_makes_it_unhealthy(admin, reachable):
    heartbeat_beat(name="worker:1", now=timezone.now() - timedelta(minutes=5))
    response = _health(admin)
    assert response.status_code == 503
    assert response.json()["background"] == {"msg": "no background process is running", "success": False}


def test_ping_is_cheap_and_anonymous(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/api/v1/_ping")
    assert response.status_code == 200 and response.json() == {}
