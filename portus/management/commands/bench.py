"""`manage.py bench`: the token realm beside its ceiling, the notification inbox, and the pages, in one run.

Everything runs in a database and a folder of the bench's own (the configured database is not touched),
under the gunicorn settings the project ships (portus/gunicorn.conf.py), loaded by wrk. Prints a table
and writes it as JSON and as a PNG chart. It asserts nothing about speed: the figures are the evidence,
and the ceiling — a bare WSGI app that parses the query and signs the same JWT with the same key
(bench/ceiling.py) — is measured in the same run, so that the ratio carries across machines."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from base64 import b64encode
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

from django.core.management.base import BaseCommand, CommandError

from bench import chart
from bench.database import own_database, server_version
from bench.runner import ROOT, Load, PostgresCPU, Server, machine_ticks, wrk

SCRIPTS = ROOT / "bench" / "wrk"
CEILING = "ceiling (bare sign)"
SLICE_SECONDS = 2  # the length of a turn beside the ceiling (`_paired`)
TOKEN_SCENARIOS = ("anonymous", "application token", "password, repeated", "refresh token")
LDAP_SCENARIO = "LDAP password, repeated"
# Anonymous again, from a server that reads the authorization generation before every request
# (token_realm.generation_max_age_ms 0): what the shipped bound saves.
EVERY_READ_SCENARIO = "anonymous, generation per request"
LDAP_USER = "alice"  # a person of the test directory (tests/e2e/support/slapd.py), with a namespace of her own


def _machine() -> str:
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model or platform.machine()}), Python {platform.python_version()}"


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"not a list of numbers: {text!r}") from None
    if not levels or any(n < 1 or n > 1024 for n in levels):
        raise CommandError("concurrency levels are 1 to 1024")
    return levels


class Sample(NamedTuple):
    """One wrk run and the CPU seconds it cost the server (web) and PostgreSQL (None on SQLite)."""

    load: Load
    web: float
    db: float | None


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seconds", type=float, default=10, help="duration of each measured run")
        parser.add_argument("--concurrency", default="1,16,64", help="connection counts, comma-separated")
        parser.add_argument("--only", default="token,ingest,push,pages",
                            help="what to measure, comma-separated: token, ingest, push, pages")
        parser.add_argument("--pushes", type=int, default=200, help="skopeo pushes of the push-to-visible run")
        parser.add_argument("--push-concurrency", type=int, default=50, help="pushes at once")
        parser.add_argument("--registry-gomaxprocs", type=int, default=None,
                            help="the registry's GOMAXPROCS in the push runs (default: what Portus tells "
                                 "operators to run it with, registry_config's; 0: Go's own, one per core)")
        parser.add_argument("--pages", default="1000",
                            help="repository counts for the page timings, comma-separated (e.g. 1000,10000,100000)")
        parser.add_argument("--page-runs", type=int, default=20, help="timed requests per page and actor")
        parser.add_argument("--out", default="bench-results", help="folder for the JSON and PNG")
        parser.add_argument("--quick", action="store_true",
                            help="a smoke run: 1 s per run, concurrency 1 and 4, pages at 30 repositories")

    def handle(self, *args, **opts) -> None:
        if shutil.which("wrk") is None:
            raise CommandError("wrk is not installed (Debian package `wrk`; scripts/install-system-packages)")
        if opts["quick"]:
            opts.update(seconds=1, concurrency="1,4", pages="30", page_runs=3, pushes=8, push_concurrency=4)
        self.seconds = float(opts["seconds"])
        self.levels = _levels(opts["concurrency"])
        only = {part.strip() for part in opts["only"].split(",") if part.strip()}
        unknown = only - {"token", "ingest", "push", "pages"}
        if unknown:
            raise CommandError(f"unknown --only parts: {', '.join(sorted(unknown))}")
        self.rows: list[dict] = []
        self.failures: list[str] = []
        self.workdir = Path(tempfile.mkdtemp(prefix="portus-bench-"))
        self.ticks = machine_ticks()
        try:
            with own_database(self.workdir, "token") as (url, vendor):
                self.vendor = vendor
                self.machine = f"{_machine()}, {server_version(url)}"
                self.env = self._env(url)
                self.stdout.write(f"Machine: {self.machine}; gunicorn as shipped "
                                  f"(portus/gunicorn.conf.py: {self._gunicorn_shape()}); wrk, "
                                  f"{self.seconds:g} s per run.")
                self.fixture = self._prepare()
                if "token" in only:
                    self._token()
                if "ingest" in only:
                    self._ingest()
            if "push" in only:
                self._push(opts["pushes"], opts["push_concurrency"], opts["registry_gomaxprocs"])
            if "pages" in only:
                for size in _levels(opts["pages"]):
                    self._pages(size, opts["page_runs"])
            self._report(Path(opts["out"]))
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.failures:
            raise CommandError("some requests failed:\n" + "\n".join(self.failures))

    # --- set-up ---------------------------------------------------------------------------------------

    def _env(self, database_url: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTUS_", "GUNICORN_"))}
        env.update({
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "portus.settings",
            "PYTHONPATH": str(ROOT),
            "PORTUS_VAR_DIR": str(self.workdir),
            "PORTUS_SECRET_KEY_BASE": "bench-secret-key-base-" + "x" * 40,
            "PORTUS_MACHINE_FQDN": "portus.bench.test",
            "PORTUS_KEY_PATH": str(self.workdir / "portus.key"),
            "PORTUS_CERTIFICATE_PATH": str(self.workdir / "portus.crt"),
            "PORTUS_PASSWORD": "bench-internal-password",
            "PORTUS_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PORTUS_PLAIN_STATIC": "1",
            "BENCH_KEY_PATH": str(self.workdir / "portus.key"),
            "BENCH_CERT_PATH": str(self.workdir / "portus.crt"),
            "BENCH_ISSUER": "portus.bench.test",
        })
        return env

    def _gunicorn_shape(self) -> str:
        out = subprocess.run(
            [sys.executable, "-c", "import runpy; c = runpy.run_path('portus/gunicorn.conf.py'); "
                                   "print(c['workers'], c['threads'], c['worker_class'])"],
            cwd=ROOT, env=self.env, capture_output=True, text=True, check=True).stdout.split()
        return f"{out[0]} workers × {out[1]} threads, {out[2]}"

    def _manage(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise CommandError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def _prepare(self) -> dict:
        self._manage("migrate", "--noinput")
        self._manage("generate_keys")
        out = self._manage("shell", "-c", "from bench.fixture import main; main()")
        return json.loads(out.split("BENCH-FIXTURE ", 1)[1].splitlines()[0])

    # --- measuring ------------------------------------------------------------------------------------

    def _sample(self, server: Server, url: str, level: int, seconds: int, load: dict) -> Sample:
        """One wrk run against `server` and the CPU it cost."""
        database = PostgresCPU(self._database_name()) if self.vendor == "postgresql" else None
        web_before, db_before = server.cpu_seconds(), database.seconds() if database else 0.0
        result = wrk(url, connections=level, seconds=seconds, headers=load.get("headers"), script=load.get("script"),
                     env=load.get("script_env"))
        return Sample(result, server.cpu_seconds() - web_before, (database.seconds() - db_before) if database else None)

    def _paired(self, scenario: str, server: Server, url: str, level: int, *, against: tuple[str, Server, str],
                per_request: int = 1, load: dict | None = None, ceiling_load: dict | None = None) -> None:
        """`scenario` beside its ceiling (`against`: name, server, URL), in turns of about SLICE_SECONDS
        each: ceiling, scenario, ceiling, scenario … for `--seconds` each in all. A shared machine's speed
        moves from one second to the next (the ceiling alone ranged from 1,072 to 2,353 req/s within one
        run here); taking turns, both see the same moments, and the ratio is of their totals."""
        turns = max(1, round(self.seconds / SLICE_SECONDS))
        length = max(1, int(self.seconds // turns))
        name, ceiling_server, ceiling_url = against
        samples: dict[str, list[Sample]] = {name: [], scenario: []}
        for _ in range(turns):
            samples[name].append(self._sample(ceiling_server, ceiling_url, level, length, ceiling_load or {}))
            samples[scenario].append(self._sample(server, url, level, length, load or {}))
        top = self._row(name, level, samples[name], per_request=per_request)
        self._row(scenario, level, samples[scenario], per_request=per_request, ceiling=top)

    def _row(self, scenario: str, level: int, samples: list[Sample], *, per_request: int,
             ceiling: dict | None = None) -> dict:
        """The row of a scenario's turns: the rate of their totals, CPU per request over all of them, the
        median of their medians, and the worst of their 99th percentiles."""
        loads = [sample.load for sample in samples]
        requests = sum(load.requests for load in loads)
        failed = sum(load.failed for load in loads)
        elapsed = sum(load.seconds for load in loads)
        if not requests:
            self.failures.append(f"{scenario} at {level}: no request completed in {elapsed:g} s")
        if failed:
            worst = max(loads, key=lambda load: load.failed)
            self.failures.append(f"{scenario} at {level}: {failed} of {requests} failed\n{worst.output}")
        done = max(1, requests)
        rps = requests / elapsed * per_request if elapsed > 0 else 0.0
        p99 = max(load.p99_ms for load in loads)
        db = [sample.db for sample in samples]
        row = {
            "scenario": scenario, "concurrency": level, "rps": rps, "turns": len(loads),
            "p50_ms": statistics.median(load.p50_ms for load in loads), "p99_ms": p99,
            "requests": requests, "failed": failed,
            "web_cpu_ms": sum(sample.web for sample in samples) * 1000 / done,
            "db_cpu_ms": None if None in db else sum(db) * 1000 / done,
            "ratio": (rps / ceiling["rps"]) if ceiling and ceiling["rps"] else None,
            "p99_vs_ceiling": (p99 / ceiling["p99_ms"]) if ceiling and ceiling["p99_ms"] else None,
            "unit": "events/s" if per_request > 1 or scenario.startswith("ingest") else "req/s",
        }
        self.rows.append(row)
        self._print_row(row)
        return row

    def _database_name(self) -> str:
        return self.env["DATABASE_URL"].rsplit("/", 1)[-1]

    def _warm(self, url: str, **kwargs) -> None:
        wrk(url, connections=4, seconds=2.0, **kwargs)

    def _token(self) -> None:
        f = self.fixture
        query = urlencode({"service": f["service"], "scope": f"repository:{f['repository']}:pull,push"})
        basic = {
            "application token": (f["username"], f["application_token"]),
            "password, repeated": (f["username"], f["password"]),
        }
        body = self.workdir / "refresh.body"
        body.write_text(urlencode({"grant_type": "refresh_token", "refresh_token": f["refresh_token"],
                                   "service": f["service"], "client_id": "bench",
                                   "scope": f"repository:{f['repository']}:pull,push"}))
        self._header()
        with contextlib.ExitStack() as stack:
            ceiling = stack.enter_context(Server("ceiling", "bench.ceiling:application", self.env,
                                                 self.workdir / "ceiling.log"))
            portus = stack.enter_context(Server("portus", "portus.wsgi:application", self.env,
                                                self.workdir / "portus.log"))
            every_read = stack.enter_context(Server("portus-every-read", "portus.wsgi:application",
                                                    dict(self.env, PORTUS_TOKEN_REALM_GENERATION_MAX_AGE_MS="0"),
                                                    self.workdir / "portus-every-read.log"))
            ldap = self._ldap_server(stack)
            ceiling_url, portus_url = f"{ceiling.url}/v2/token?{query}", f"{portus.url}/v2/token?{query}"
            plans = {}
            for scenario in TOKEN_SCENARIOS:
                kwargs: dict = {}
                url = portus_url
                if scenario in basic:
                    user, secret = basic[scenario]
                    credentials = b64encode(f"{user}:{secret}".encode()).decode()
                    kwargs["headers"] = {"Authorization": f"Basic {credentials}"}
                elif scenario == "refresh token":
                    kwargs["script"] = SCRIPTS / "post.lua"
                    kwargs["script_env"] = {"BENCH_BODY": str(body), "BENCH_TYPE": "application/x-www-form-urlencoded"}
                    url = f"{portus.url}/v2/token"
                plans[scenario] = (portus, url, kwargs)
            plans[EVERY_READ_SCENARIO] = (every_read, f"{every_read.url}/v2/token?{query}", {})
            # Every scenario once before measuring: each worker's connections, key and remembered password.
            self._warm(ceiling_url)
            for _, url, kwargs in plans.values():
                self._warm(url, headers=kwargs.get("headers"), script=kwargs.get("script"),
                           env=kwargs.get("script_env"))
            if ldap is not None:
                server, password = ldap
                ldap_query = urlencode({"service": f["service"], "scope": f"repository:{LDAP_USER}/app:pull,push"})
                ldap_url = f"{server.url}/v2/token?{ldap_query}"
                ldap_headers = {"Authorization": "Basic " + b64encode(f"{LDAP_USER}:{password}".encode()).decode()}
                self._warm(ldap_url, headers=ldap_headers)  # the first login binds and makes the account
            beside = (CEILING, ceiling, ceiling_url)
            for level in self.levels:
                # Each scenario takes turns with the ceiling (`_paired`): a ratio is only as good as the
                # ceiling measured beside it.
                for scenario, (server, url, kwargs) in plans.items():
                    self._paired(scenario, server, url, level, against=beside, load=kwargs)
                if ldap is not None:
                    self._paired(LDAP_SCENARIO, ldap[0], ldap_url, level, against=beside,
                                 load={"headers": ldap_headers})

    def _ldap_server(self, stack: contextlib.ExitStack) -> tuple[Server, str] | None:
        """Debian's slapd seeded with the test directory, and Portus served with LDAP on against it (the
        directory's logins then go there first), or None without slapd: repeated LDAP logins are answered
        from the LDAP credential cache after the first bind."""
        from tests.e2e.support.slapd import SLAPD, USERS, start_slapd

        if not Path(SLAPD).exists():
            self.stdout.write(f"{LDAP_SCENARIO}: not measured ({SLAPD} is not installed)")
            return None
        directory = start_slapd(self.workdir / "slapd")
        stack.callback(directory.process.stop)
        server = stack.enter_context(Server("portus-ldap", "portus.wsgi:application",
                                            dict(self.env, **directory.env()), self.workdir / "portus-ldap.log"))
        return server, USERS[LDAP_USER][0]

    def _ingest(self) -> None:
        f = self.fixture
        self._header()
        bare_env = dict(self.env, BENCH_DATABASE_URL=self.env["DATABASE_URL"],
                        BENCH_NOTIFICATION_SECRET=f["notification_secret"])
        with Server("ingest ceiling", "bench.ingest_ceiling:application", bare_env,
                    self.workdir / "ingest-ceiling.log") as bare, \
                Server("portus", "portus.wsgi:application", self.env, self.workdir / "portus-ingest.log") as portus:
            url, bare_url = f"{portus.url}/v2/webhooks/events", f"{bare.url}/v2/webhooks/events"
            headers = {"Authorization": f"Bearer {f['notification_secret']}"}
            for per_post in (1, 10):
                script_env = {"BENCH_EVENTS": str(per_post), "BENCH_REPOSITORY": f["repository"],
                              "BENCH_SERVICE": f["service"]}
                events = f"{per_post} event{'s' if per_post > 1 else ''}/POST"
                for target in (bare_url, url):
                    self._warm(target, headers=headers, script=SCRIPTS / "events.lua", env=script_env)
                for level in self.levels:
                    # The same durable, deduplicated insert with nothing around it, taking turns with it.
                    load = {"headers": headers, "script": SCRIPTS / "events.lua", "script_env": script_env}
                    self._paired(f"ingest, {events}", portus, url, level, per_request=per_post, load=load,
                                 against=(f"ingest ceiling, {events}", bare, bare_url), ceiling_load=load)
        stored = self._manage("shell", "-c", "from mirror.models import Event; print('EVENTS', Event.objects.count())")
        count = int(stored.split("EVENTS ", 1)[1].split()[0])
        sent = sum(r["requests"] * (10 if "10 events" in r["scenario"] else 1)
                   for r in self.rows if r["scenario"].startswith("ingest, "))
        self.stdout.write(f"  inbox rows: {count} (measured runs sent {sent}; warm-ups the rest)")
        if count < sent:
            self.failures.append(f"ingest: {sent} events answered 2xx but only {count} are stored")

    def _push(self, pushes: int, concurrency: int, gomaxprocs: int | None) -> None:
        from realm.management.commands.registry_config import REGISTRY_GOMAXPROCS

        if not 1 <= concurrency <= pushes <= 10_000:
            raise CommandError("--push-concurrency must be between 1 and --pushes (at most 10,000)")
        if gomaxprocs is not None and not 0 <= gomaxprocs <= 1024:
            raise CommandError("--registry-gomaxprocs must be between 0 and 1024")
        gomaxprocs = REGISTRY_GOMAXPROCS if gomaxprocs is None else gomaxprocs
        registry_env = {"GOMAXPROCS": str(gomaxprocs) if gomaxprocs else ""}
        said = f"GOMAXPROCS={gomaxprocs}" if gomaxprocs else "Go's own GOMAXPROCS"
        # The registry's floor first (the same pushes, every endpoint to a bare receiver), then Portus.
        floor = self._push_run("push-floor", pushes, concurrency, receiver=True, registry_env=registry_env)
        self.stdout.write(f"\nPush to notified, the registry's floor (skopeo, the same registry ({said}) and "
                          f"configuration, every endpoint to a bare receiver that answers at once): {floor.summary()}")
        result = self._push_run("push", pushes, concurrency, receiver=False, registry_env=registry_env)
        self.stdout.write(f"\nPush to visible (skopeo, the registry with {said}, 2 web instances, 2 background "
                          f"processes, one database): {result.summary()}")
        for label, run in (("push to notified (floor)", floor), ("push to visible", result)):
            for problem in run.problems:
                self.failures.append(f"{label}: {problem}")
        self.rows.append(self._push_row("push to notified, bare receiver (floor)", floor, gomaxprocs))
        self.rows.append(self._push_row("push to visible", result, gomaxprocs))

    @staticmethod
    def _push_row(scenario: str, run, gomaxprocs: int) -> dict:
        return {"scenario": scenario, "concurrency": run.concurrency, "rps": None, "pushes": run.pushes,
                "p50_ms": run.percentile(0.5) * 1000, "p99_ms": run.percentile(0.99) * 1000,
                "visible": len(run.latencies), "problems": run.problems, "cores_busy": run.cpu,
                "registry_gomaxprocs": gomaxprocs or None}

    def _push_run(self, label: str, pushes: int, concurrency: int, *, receiver: bool, registry_env: dict):
        from bench.push import run

        with own_database(self.workdir, label.replace("-", "_")) as (url, _):
            root = self.workdir / label
            root.mkdir()
            env = dict(self.env, DATABASE_URL=url, PORTUS_VAR_DIR=str(root), PORTUS_KEY_PATH=str(root / "portus.key"),
                       PORTUS_CERTIFICATE_PATH=str(root / "portus.crt"))
            subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                           check=True, capture_output=True)
            return run(root, env, pushes=pushes, concurrency=concurrency, receiver=receiver,
                       registry_env=registry_env)

    def _pages(self, size: int, runs: int) -> None:
        with own_database(self.workdir, f"pages{size}") as (url, _):
            env = dict(self.env, DATABASE_URL=url)
            subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                           check=True, capture_output=True)
            started = time.monotonic()
            result = subprocess.run(
                [sys.executable, "manage.py", "bench_pages", "--repositories", str(size), "--tags", str(size * 10),
                 "--activities", str(size * 100), "--runs", str(runs)],
                cwd=ROOT, env=env, capture_output=True, text=True)
            if result.returncode != 0:
                self.failures.append(f"bench_pages at {size}: {result.stderr[-2000:]}")
                return
        self.stdout.write(f"\nPages at {size} repositories ({time.monotonic() - started:.0f} s with seeding), "
                          f"server time through Django's test client:")
        self.stdout.write(result.stdout.split("\n", 1)[1] if "\n" in result.stdout else result.stdout)
        slowest = re.search(r"Slowest p95: ([\d.]+) ms", result.stdout)
        queries = [int(m) for m in re.findall(r"\s(\d+)\s*$", result.stdout, re.M)]
        self.rows.append({"scenario": f"pages at {size} repositories", "concurrency": 1, "rps": None,
                          "p95_ms": float(slowest.group(1)) if slowest else None,
                          "max_queries": max(queries) if queries else None})

    # --- output ---------------------------------------------------------------------------------------

    def _header(self) -> None:
        self.stdout.write(f"\n{'scenario':<32} {'conn':>5} {'rate':>10} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8} "
                          f"{'p99/ceil':>8} {'web CPU':>8} {'db CPU':>8}   (CPU in ms per request)")

    def _print_row(self, row: dict) -> None:
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "—"
        p99x = f"{row['p99_vs_ceiling']:.1f}×" if row["p99_vs_ceiling"] is not None else "—"
        db = f"{row['db_cpu_ms']:.2f}" if row["db_cpu_ms"] is not None else "in web"
        failed = f"   {row['failed']} FAILED" if row["failed"] else ""
        self.stdout.write(f"{row['scenario']:<32} {row['concurrency']:>5} {row['rps']:>10.0f} {ratio:>6} "
                          f"{row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {p99x:>8} {row['web_cpu_ms']:>8.2f} "
                          f"{db:>8}{failed}")

    def _report(self, out: Path) -> None:
        out = out if out.is_absolute() else Path.cwd() / out
        out.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        ticks = machine_ticks()
        total = sum(ticks.values()) - sum(self.ticks.values())
        steal = (ticks["steal"] - self.ticks["steal"]) / total if total > 0 else 0.0
        self.stdout.write(f"\nCPU time the hypervisor gave to others while the bench ran (steal, /proc/stat): "
                          f"{steal:.1%}. The rates move with it and with the machine's neighbours, the ceiling's "
                          f"too: compare each ratio, measured beside its own ceiling.")
        data = {"machine": self.machine, "seconds": self.seconds, "steal": round(steal, 4), "rows": self.rows}
        (out / f"bench-{stamp}.json").write_text(json.dumps(data, indent=2))
        png = out / f"bench-{stamp}.png"
        if any(r.get("rps") is not None for r in self.rows):
            chart.draw(self.rows, self.machine, png)
            self.stdout.write(f"\nWrote {out / f'bench-{stamp}.json'} and {png}")
        else:
            self.stdout.write(f"\nWrote {out / f'bench-{stamp}.json'}")
