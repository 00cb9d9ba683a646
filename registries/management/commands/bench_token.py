"""Benchmark of the token realm over real HTTP: requests per second and latency per kind of login."""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApplicationToken, User
from accounts.services import application_token_create, user_create
from registries.models import Registry

BENCH_USER = "benchuser"
BENCH_PASSWORD = "bench-password-not-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Command(BaseCommand):
    help = ("Start gunicorn on a free local port with this configuration and measure /v2/token: "
            "anonymous, application-token and repeated password logins, and a password login that misses "
            "the credential cache. Prints requests per second and latency percentiles. Creates a user "
            f"'{BENCH_USER}' in the configured database.")

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=2000, help="requests per scenario")
        parser.add_argument("--concurrency", type=int, default=8)
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
        parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")

    def handle(self, *args, **opts):
        registry = Registry.default()
        if registry is None:
            raise CommandError("Add a registry first (manage.py create_registry).")
        user = User.objects.filter(username=BENCH_USER).first() or user_create(
            username=BENCH_USER, email=None, password=BENCH_PASSWORD, check_password=False)
        user.set_password(BENCH_PASSWORD)
        user.save()
        ApplicationToken.objects.filter(user=user, application="bench").delete()
        _, plain = application_token_create(user=user, application="bench", by=user)

        service = registry.hostname
        scope = f"repository:{BENCH_USER}/app:pull,push"
        self.stdout.write(f"gunicorn: {opts['workers']} workers x {opts['threads']} threads; client: "
                          f"{opts['concurrency']} threads; {opts['requests']} requests per scenario; "
                          f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
        with self._server(opts) as base:
            for name, auth in [
                ("anonymous", None),
                ("application token", (BENCH_USER, plain)),
                ("password, repeated (cached)", (BENCH_USER, BENCH_PASSWORD)),
            ]:
                self._run(name, base, service, scope, auth, opts["requests"], opts["concurrency"])
        # The same password logins with the credential cache off: every request pays the full hash.
        with self._server(opts, PORTUS_CREDENTIAL_CACHE_SECONDS="0") as base:
            self._run("password, cache off (full hash)", base, service, scope, (BENCH_USER, BENCH_PASSWORD),
                      max(20, opts["requests"] // 50), opts["concurrency"])

    @contextlib.contextmanager
    def _server(self, opts, **extra_env):
        port = _free_port()
        env = dict(os.environ, GUNICORN_WORKERS=str(opts["workers"]), GUNICORN_THREADS=str(opts["threads"]),
                   GUNICORN_ACCESSLOG="/dev/null", **extra_env)
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portus.wsgi:application", "-c", "portus/gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=settings.BASE_DIR, env=env)
        try:
            url = f"http://127.0.0.1:{port}/v2/token"
            self._wait(url)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=10)

    def _wait(self, url: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(url, timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise CommandError("gunicorn did not start")

    def _run(self, name, url, service, scope, auth, count, concurrency):
        local = threading.local()
        params = {"service": service, "scope": scope}

        def one(_: int) -> float:
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = requests.Session()
            start = time.perf_counter()
            response = session.get(url, params=params, auth=auth, timeout=30)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise CommandError(f"{name}: HTTP {response.status_code}: {response.text[:200]}")
            return elapsed

        one(0)  # warm up: connections, the signing key, the credential cache
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            latencies = sorted(pool.map(one, range(count)))
        wall = time.perf_counter() - started

        def pct(q: float) -> float:
            return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

        self.stdout.write(f"{name:34s} {count / wall:8.0f} req/s   median {statistics.median(latencies) * 1000:6.1f} ms"
                          f"   p95 {pct(0.95):6.1f} ms   p99 {pct(0.99):6.1f} ms   ({count} requests)")
