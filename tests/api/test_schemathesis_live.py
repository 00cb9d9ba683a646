"""The API against its own OpenAPI description, over HTTP, on a real server (gunicorn) with its own database.

Schemathesis generates requests for every operation of /api/openapi-spec (valid and invalid ones), sends
them as the seeded admin, and checks: no 5xx, the status code is documented, the body matches its schema,
the content type and headers are the documented ones.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import DataGenerationMethod, GenerationConfig
from schemathesis.checks import not_a_server_error

from tests.api.test_openapi import PORTUS_PATHS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_PER_OPERATION = int(os.environ.get("PORTUS_SCHEMATHESIS_EXAMPLES", "25"))
STATS: Counter = Counter()


@dataclass
class LiveServer:
    url: str
    auth: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeRegistry(BaseHTTPRequestHandler):
    """Just enough of a Distribution registry: /v2/ answers, manifests can be deleted (with a token)."""

    def _answer(self, status: int, body: bytes = b"{}", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            host = self.headers.get("Host", "")
            self._answer(401, WWW_Authenticate=f'Bearer realm="http://portus.test.lan/v2/token",service="{host}"')
        elif self.command == "DELETE" and "/manifests/" in self.path:
            self._answer(202, b"")
        elif self.path == "/v2/":
            self._answer(200)
        else:
            self._answer(404)

    do_GET = do_HEAD = do_DELETE = _handle

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def fake_registry():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def live_portus(tmp_path_factory, signing_files, fake_registry):
    folder = tmp_path_factory.mktemp("live")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{folder / 'portus.sqlite3'}",
        "PORTUS_VAR_DIR": str(folder),
        "PORTUS_KEY_PATH": str(signing_files[0]),
        "PORTUS_CERTIFICATE_PATH": str(signing_files[1]),
        "PORTUS_DELETE_ENABLED": "true",
        "PORTUS_REGISTRY_TIMEOUT": "1",
        # The ignored_auth check sends bad credentials on every example: it would spend the address's
        # failure budget and read 429s where it expects the 401 this test checks.
        "PORTUS_RATE_LIMIT_FAILURES": "1000000",
        "LIVE_SEED_REGISTRY": fake_registry,
        "PYTHONPATH": str(ROOT),
    }
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    seeded = subprocess.run([python, "-m", "tests.api.live_seed"], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True)
    auth = json.loads(seeded.stdout.strip().splitlines()[-1])["auth"]
    port = _free_port()
    log = open(folder / "gunicorn.log", "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [str(Path(python).with_name("gunicorn")), "portus.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "4", "--timeout", "60", "--config", "/dev/null"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(f"{url}/api/v1/_ping", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn stopped: {(folder / 'gunicorn.log').read_text()[-2000:]}")
            time.sleep(0.1)
        else:
            raise RuntimeError("the live server did not answer /api/v1/_ping")
        yield LiveServer(url=url, auth=auth)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def live_schema(live_portus):
    return schemathesis.from_uri(
        f"{live_portus.url}/api/openapi-spec",
        base_url=live_portus.url,
        data_generation_methods=[DataGenerationMethod.positive],
        # The admin's Portus-Auth header is sent with every request instead of generated credentials.
        generation_config=GenerationConfig(with_security_parameters=False),
    )


schema = schemathesis.from_pytest_fixture("live_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
def test_api_matches_its_openapi_description(case, live_portus):
    headers = {"Portus-Auth": live_portus.auth}
    # The ignored_auth check writes bad credentials into these (and fails on None).
    case.headers = case.headers or {}
    case.cookies = case.cookies or {}
    response = case.call(headers=headers, timeout=30)
    STATS["examples"] += 1
    STATS[f"operation {case.method} {case.path}"] += 1
    STATS[f"status {response.status_code}"] += 1
    # Health answers a documented 503 while a component is down (here: no background process runs).
    excluded = (not_a_server_error,) if case.path == "/api/v1/health" and response.status_code == 503 else ()
    # Passing the credentials lets the ignored_auth check send the request again without them (and with bad
    # ones) and expect 401.
    case.validate_response(response, excluded_checks=excluded, headers=headers,
                           transport_kwargs={"headers": headers, "timeout": 30})


def test_the_live_server_serves_the_description(live_portus):
    response = requests.get(f"{live_portus.url}/api/openapi-spec", timeout=10)
    assert response.status_code == 200
    # The live server describes exactly the routes the in-process description test lists.
    described = {path: set(item) - {"parameters"} for path, item in response.json()["paths"].items()}
    assert described == PORTUS_PATHS
