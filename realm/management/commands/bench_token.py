"""Benchmark of the token realm over real HTTP: requests per second and latency per kind of login."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
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
from portus.options import option
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
        parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto",
                            help="load generator: wrk (Debian package `wrk`; lighter, so the figures "
                                 "show the server) or Python threads; auto picks wrk when installed")
        parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
        parser.add_argument("--ldap-user", default="", help="also measure repeated token requests of this "
                            "directory user (the configured ldap.* options; the first request creates the "
                            "account), with the LDAP credential cache on and off")
        parser.add_argument("--ldap-password", default=os.environ.get("BENCH_LDAP_PASSWORD", ""),
                            help="that user's directory password (or BENCH_LDAP_PASSWORD)")

    def handle(self, *args, **opts):
        if opts["ldap_user"] and not (option("ldap.enabled") and opts["ldap_password"]):
            raise CommandError("--ldap-user needs ldap.enabled (PORTUS_LDAP_*) and --ldap-password")
        registry = Registry.default()
        if registry is None:
            raise CommandError("Add a registry first (manage.py create_registry).")
        user = User.objects.filter(username=BENCH_USER).first() or user_create(
            username=BENCH_USER, email=None, password=BENCH_PASSWORD, check_password=False)
        user.set_password(BENCH_PASSWORD)
        user.save()
        ApplicationToken.objects.filter(user=user, application="bench").delete()
        _, plain = application_token_create(user=user, application="bench", by=user)

        self.client = opts["client"]
        if self.client == "auto":
            self.client = "wrk" if shutil.which("wrk") else "python"
        self.seconds = opts["seconds"]
        service = registry.hostname
        scope = f"repository:{BENCH_USER}/app:pull,push"
        self.stdout.write(f"gunicorn: {opts['workers']} workers x {opts['threads']} threads; client: "
                          f"{self.client}, {opts['concurrency']} concurrent; "
                          f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
        with self._server(opts) as base:
            rates = {}
            for name, auth in [
                ("anonymous", None),
                ("application token", (BENCH_USER, plain)),
                ("password, repeated (cached)", (BENCH_USER, BENCH_PASSWORD)),
            ]:
                rates[name] = self._run(name, base, service, scope, auth, opts["requests"], opts["concurrency"])
            if opts["ldap_user"]:
                # Its own namespace, so the decision does the work it does for the token above.
                ldap_scope = f"repository:{opts['ldap_user']}/app:pull,push"
                ldap_rate = self._run("LDAP password, repeated (cached)", base, service, ldap_scope,
                                      (opts["ldap_user"], opts["ldap_password"]), opts["requests"],
                                      opts["concurrency"])
                self.stdout.write(f"an LDAP repeat costs {rates['application token'] / ldap_rate:.2f}x an "
                                  "application-token request (time per request; goal: at most 1.25x)")
        # The same password logins with the credential cache off: every request pays the full hash.
        with self._server(opts, PORTUS_CREDENTIAL_CACHE_SECONDS="0") as base:
            # Seconds per request: Python's client, whose time-out suits it, with few requests.
            self._run_python("password, cache off (full hash)", base, service, scope,
                             (BENCH_USER, BENCH_PASSWORD), 40, opts["concurrency"])
        if opts["ldap_user"]:
            self._in_process(service, [("application token", (BENCH_USER, plain), scope),
                                       ("LDAP password, repeated (cached)", (opts["ldap_user"], opts["ldap_password"]),
                                        f"repository:{opts['ldap_user']}/app:pull,push")])
            with self._server(opts, PORTUS_LDAP_CREDENTIAL_CACHE_SECONDS="0") as base:
                self._run_python("LDAP password, cache off (a bind each)", base, service,
                                 f"repository:{opts['ldap_user']}/app:pull,push",
                                 (opts["ldap_user"], opts["ldap_password"]), 200, opts["concurrency"])

    def _in_process(self, service, cases, count: int = 300) -> None:
        """The token view called in this process, CPU time per request (time.process_time): on a busy
        machine a steadier comparison of two kinds of login than requests per second over HTTP."""
        from django.test import RequestFactory

        from realm.token import token_view

        factory = RequestFactory()
        per_request = {}
        for name, auth, scope in cases:
            header = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()

            def call(header=header, scope=scope, name=name) -> None:
                request = factory.get("/v2/token", {"service": service, "scope": scope},
                                      HTTP_AUTHORIZATION=header, REMOTE_ADDR="127.0.0.1")
                response = token_view(request)
                if response.status_code != 200:
                    raise CommandError(f"{name}: HTTP {response.status_code}: {response.content[:200]!r}")

            call()  # warm up: the account, the credential cache, the signing key
            started = time.process_time()
            for _ in range(count):
                call()
            per_request[name] = (time.process_time() - started) / count
            self.stdout.write(f"{name:34s} {per_request[name] * 1000:8.2f} ms CPU per request "
                              f"(in process, {count} requests)")
        (first, a), (second, b) = list(per_request.items())[:2]
        self.stdout.write(f"{second} costs {b / a:.2f}x {first} (CPU per request; goal: at most 1.25x)")

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
        if self.client == "wrk":
            return self._run_wrk(name, url, service, scope, auth, concurrency)
        return self._run_python(name, url, service, scope, auth, count, concurrency)

    def _warm_up(self, url, service, scope, auth, concurrency) -> None:
        """A few requests at once before measuring, so that every worker has made its first login (a
        full password hash, an LDAP bind and maybe the account) and remembered it."""
        def one(_: int) -> None:
            requests.get(url, params={"service": service, "scope": scope}, auth=auth, timeout=300)

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(concurrency * 2)))

    def _run_wrk(self, name, url, service, scope, auth, concurrency):
        self._warm_up(url, service, scope, auth, concurrency)
        query = requests.Request("GET", url, params={"service": service, "scope": scope}).prepare().url
        headers = []
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers = ["-H", f"Authorization: Basic {token}"]
        result = subprocess.run(
            ["wrk", "-t", "2", "-c", str(concurrency), "-d", f"{self.seconds}s", "--latency", *headers, query],
            capture_output=True, text=True, check=True)
        text = result.stdout
        rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
        p50 = re.search(r"50%\s+([\d.]+\w+)", text)
        p99 = re.search(r"99%\s+([\d.]+\w+)", text)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        if errors:
            raise CommandError(f"{name}: {errors.group(1)} failed requests\n{text}")
        self.stdout.write(f"{name:34s} {float(rps.group(1)):8.0f} req/s   median {p50.group(1):>8}"
                          f"   p99 {p99.group(1):>8}   (wrk, {self.seconds} s, {concurrency} connections)")
        return float(rps.group(1))

    def _run_python(self, name, url, service, scope, auth, count, concurrency):
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
        return count / wall
