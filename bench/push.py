"""Push to visible: skopeo pushes against the real registry, with two web instances and two background
processes on one database, and the time from each push's exit to its tag being visible.

The registry notifies both web instances (two endpoints in its `notifications` section), so every event
arrives twice and must be stored once; both background processes work the same inbox. Visibility is
polled in the tags table that the API reads (one query every 20 ms for all pushes still waiting, so the
poller adds no load worth speaking of), and the API is asked at the end for every tag. The report says
where each push's time went, on one clock (the machine's wall clock: skopeo's exit and the poller's
sighting by time.time(), the event's `received_at` as the web instance stored it, the processing's start
and end from the background's JSON log line for the event, which gives its end and its duration):
delivery (exit → received), inbox (received → processing starts), work (the registry reads and the
write), show (written → seen by the poller, at most one poll late). The scenario
reports, besides the latencies, whatever went wrong: a push never visible, a duplicate row, an event
lost or failed, a deadlock in a log. Used by `manage.py bench --only push` (200 pushes, 50 at once) and
by tests/e2e/test_push_to_visible.py at a size CI affords.

With `receiver=True` the same pushes run against the same registry, web instances (for the tokens) and
configuration, but every notification endpoint points at a bare receiver in this process (`Receiver`: it
notes when each tag's manifest push first arrives and answers 202 at once, nothing else), and no
background process runs: push → notified with nothing of Portus's inbox in the way, the floor that the
registry's own sending sets for any receiver on this machine.

It drives real parts with the end-to-end tests' process helpers (tests/e2e/support)."""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
import yaml

from bench.runner import machine_ticks
from tests.e2e.support import images, services

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "pusher", "push-bench-password"
SETUP = """
import json
from accounts.services import user_create, application_token_create
user = user_create(username={user!r}, email=None, password={password!r}, admin=True, check_password=False)
_, token = application_token_create(user=user, application="push", by=user)
print("PUSH-SETUP " + json.dumps({{"token": token}}))
"""
WAITING_SQL = ("SELECT n.name || '/' || r.name, t.name, t.digest FROM namespaces_tag t "
               "JOIN namespaces_repository r ON r.id = t.repository_id "
               "JOIN namespaces_namespace n ON n.id = r.namespace_id WHERE n.name = %s")
RECEIVED_SQL = ("SELECT repository, tag, received_at, timestamp FROM webhooks_event "
                "WHERE action = 'push' AND tag <> '' AND repository LIKE %s")
LEGS = ("delivery", "inbox", "work", "show")  # see the module's text
# Of the delivery: from the event's own time (the registry's clock, this machine's) to its arrival, the
# time the event spent in the registry's queue for the endpoint and in the POST.
QUEUED = "of which in the registry's queue"


@dataclass
class PushResult:
    pushes: int
    concurrency: int
    latencies: list[float] = field(default_factory=list)  # seconds, skopeo exit → visible
    push_seconds: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    wall: float = 0.0
    rows: dict = field(default_factory=dict)
    legs: dict[str, list[float]] = field(default_factory=dict)  # seconds per push, by leg (LEGS)
    cpu: dict[str, float] = field(default_factory=dict)  # cores busy on average while the pushes ran, by part
    seen_as: str = "visible"  # or "notified": the registry's floor, a bare receiver's arrivals

    def percentile(self, q: float, values: list[float] | None = None) -> float:
        ordered = sorted(self.latencies if values is None else values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def breakdown(self) -> str:
        parts = [f"{leg} p50 {statistics.median(self.legs[leg]) * 1000:.0f} / p99 "
                 f"{self.percentile(0.99, self.legs[leg]) * 1000:.0f} ms"
                 for leg in (*LEGS, QUEUED) if self.legs.get(leg)]
        counted = min((len(v) for v in self.legs.values()), default=0)
        return f"where the time went ({counted} pushes): " + ", ".join(parts) if parts else "no breakdown"

    def summary(self) -> str:
        if not self.latencies:
            return f"no push became {self.seen_as}"
        return (f"{self.pushes} pushes, {self.concurrency} at once, in {self.wall:.1f} s: push→{self.seen_as} "
                f"p50 {statistics.median(self.latencies) * 1000:.0f} ms, p99 {self.percentile(0.99) * 1000:.0f} ms, "
                f"max {max(self.latencies) * 1000:.0f} ms; skopeo itself p50 "
                f"{statistics.median(self.push_seconds):.2f} s\n  {self.breakdown()}"
                + (f"\n  {self.cpu_line()}" if self.cpu else ""))

    def cpu_line(self) -> str:
        parts = ", ".join(f"{name} {cores:.2f}" for name, cores in self.cpu.items() if name != "machine")
        return (f"cores busy while the pushes ran: {self.cpu['machine']:.2f} of {os.cpu_count()} "
                f"({parts})")


class Receiver:
    """A bare notification receiver: the first arrival time (time.time()) of each tag's manifest push,
    by (repository, tag), for at most MAX_TAGS tags; every POST answered 202 at once. Bodies over 1 MiB
    are refused (413)."""

    MAX_BODY = 1024 * 1024
    MAX_TAGS = 100_000

    def __init__(self) -> None:
        self.arrived: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                now = time.time()
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= receiver.MAX_BODY:
                    self.close_connection = True  # the body is left unread: the connection cannot go on
                    self._answer(413)
                    return
                receiver.note(self.rfile.read(length), now)
                self._answer(202)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def note(self, body: bytes, now: float) -> None:
        try:
            events = json.loads(body).get("events")
        except (ValueError, AttributeError):
            return
        with self.lock:
            for event in events if isinstance(events, list) else []:
                target = event.get("target") if isinstance(event, dict) else None
                if isinstance(target, dict) and event.get("action") == "push" and target.get("tag") \
                        and len(self.arrived) < self.MAX_TAGS:
                    self.arrived.setdefault((str(target.get("repository")), str(target["tag"])), now)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _connect(database_url: str):
    if database_url.startswith("sqlite:///"):
        import sqlite3

        return sqlite3.connect(database_url[len("sqlite:///"):], timeout=20, check_same_thread=False), "?"
    import psycopg2

    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    return conn, "%s"


def run(root: Path, env: dict, *, pushes: int, concurrency: int, webs: int = 2, backgrounds: int = 2,
        timeout: float = 60.0, receiver: bool = False, registry_env: dict | None = None) -> PushResult:
    """The whole scenario in `root`, against the (migrated, empty) database of `env["DATABASE_URL"]`;
    with `receiver`, the registry's floor (see the module's text): push → notified. `registry_env` reaches
    the registry's process (its GOMAXPROCS: services.start_registry)."""
    if receiver:
        with Receiver() as bare:
            return _run(root, env, pushes=pushes, concurrency=concurrency, webs=webs, backgrounds=0,
                        timeout=timeout, receiver=bare, registry_env=registry_env)
    return _run(root, env, pushes=pushes, concurrency=concurrency, webs=webs, backgrounds=backgrounds,
                timeout=timeout, receiver=None, registry_env=registry_env)


def _run(root: Path, env: dict, *, pushes: int, concurrency: int, webs: int, backgrounds: int,
         timeout: float, receiver: Receiver | None, registry_env: dict | None) -> PushResult:
    result = PushResult(pushes=pushes, concurrency=concurrency, seen_as="notified" if receiver else "visible")
    processes: list[services.Process] = []

    def manage(*args: str) -> str:
        return services.run([sys.executable, "manage.py", *args], env=env, cwd=ROOT).stdout

    try:
        registry_port = services.free_port()
        registry_addr = f"127.0.0.1:{registry_port}"
        manage("generate_keys")
        manage("create_api_account")
        manage("create_registry", "--name", "push", "--hostname", registry_addr, "--no-ssl", "--skip-check")
        token = json.loads(manage("shell", "-c", SETUP.format(user=USER, password=PASSWORD))
                           .split("PUSH-SETUP ", 1)[1])["token"]
        web_urls = []
        for n in range(webs):
            port = services.free_port()
            web_urls.append(f"http://127.0.0.1:{port}")
            args = [sys.executable, "-m", "gunicorn", "portus.wsgi:application", "-c", "portus/gunicorn.conf.py",
                    "--bind", f"127.0.0.1:{port}"]
            processes.append(services.Process(f"web{n}", args, log_path=root / f"web{n}.log", env=env, cwd=ROOT))
        for n in range(backgrounds):  # JSON log lines: the breakdown reads each event's processing from them
            processes.append(services.Process(f"background{n}", [sys.executable, "manage.py", "portus_background"],
                                              log_path=root / f"background{n}.log",
                                              env={**env, "PORTUS_LOGGING_JSON": "true"}, cwd=ROOT))
        for url, web in zip(web_urls, processes, strict=False):
            services.wait_for(lambda url=url: requests.get(f"{url}/v2/token", timeout=2).status_code in (200, 401),
                              timeout=60, what=url, alive=web.alive, logs=web.log_tail)
        config_path = root / "registry.yml"
        manage("registry_config", "--portus-url", web_urls[0], "--registry", "push", "--listen", registry_addr,
               "--storage", str(root / "storage"), "--timeout", "2s", "-o", str(config_path))
        config = yaml.safe_load(config_path.read_text())
        config["notifications"]["endpoints"] = [
            dict(endpoint, name=f"{endpoint['name']}{n}",
                 url=endpoint["url"].replace(web_urls[0], receiver.url if receiver else url))
            for n, url in enumerate(web_urls) for endpoint in config["notifications"]["endpoints"]
        ]
        services.write_registry_config(config_path, config)
        processes.append(services.start_registry(config_path, log_path=root / "registry.log", env=registry_env))

        layouts = root / "layouts"
        expected: dict[tuple[str, str], str] = {}
        jobs = []
        for i in range(pushes):
            repository, tag = f"{USER}/app{i % max(1, pushes // 10)}", f"t{i}"
            info = images.write_oci_layout(layouts / str(i), files={"n": f"push {i}\n"}, tag=tag)
            expected[(repository, tag)] = info.digest
            jobs.append((i, repository, tag))

        exited: dict[tuple[str, str], float] = {}
        seen: dict[tuple[str, str], float] = {}
        lock = threading.Lock()
        done = threading.Event()

        def push(job) -> None:
            i, repository, tag = job
            started = time.time()
            services.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", f"{USER}:{token}",
                          f"oci:{layouts / str(i)}:{tag}", f"docker://{registry_addr}/{repository}:{tag}"],
                         env=services.client_env(), timeout=120)
            now = time.time()
            with lock:
                exited[(repository, tag)] = now
                result.push_seconds.append(now - started)

        def watch() -> None:
            if receiver is not None:  # notified: the receiver's arrivals are the sightings
                while not done.is_set() or len(seen) < len(exited):
                    with receiver.lock, lock:
                        seen.update((k, v) for k, v in receiver.arrived.items() if k in expected and k not in seen)
                    if done.is_set() and time.time() > deadline:
                        break
                    time.sleep(0.02)
                return
            conn, mark = _connect(env["DATABASE_URL"])
            try:
                sql = WAITING_SQL.replace("%s", mark)
                while not done.is_set() or len(seen) < len(exited):
                    cursor = conn.cursor()
                    cursor.execute(sql, [USER])
                    now = time.time()
                    for repository, tag, digest in cursor.fetchall():
                        key = (repository, tag)
                        with lock:  # first sighting, even before skopeo's exit is noted (then leg < 0)
                            if key not in seen and expected.get(key) == digest:
                                seen[key] = now
                    cursor.close()
                    if done.is_set() and time.time() > deadline:
                        break
                    time.sleep(0.02)
            finally:
                conn.close()

        deadline = float("inf")
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.time()
        cpu_before = _cpu_sample(processes)
        with ThreadPoolExecutor(concurrency) as pool:
            for failure in pool.map(lambda job: _capture(push, job), jobs):
                if failure:
                    result.problems.append(failure)
        result.cpu = _cpu_share(cpu_before, _cpu_sample(processes), time.time() - started)
        deadline = time.time() + timeout
        done.set()
        watcher.join(timeout + 5)
        result.wall = time.time() - started
        result.latencies = [seen[k] - exited[k] for k in seen if k in exited]
        missing = sorted(set(exited) - set(seen))
        if missing:
            result.problems.append(f"{len(missing)} pushes never became {result.seen_as} "
                                   f"within {timeout:.0f} s: {missing[:5]}")
        if receiver is not None:
            return result
        _check_api(web_urls[-1], token, expected, result)
        _check_rows(manage, expected, result)
        result.legs = _legs(env["DATABASE_URL"], [p.log_path for p in processes if p.name.startswith("background")],
                            exited, seen)
        for process in processes:
            text = process.log_path.read_text(errors="replace") if process.log_path.exists() else ""
            if "deadlock" in text.lower():
                result.problems.append(f"{process.name} logged a deadlock")
            if not process.alive():
                result.problems.append(f"{process.name} exited early\n{process.log_tail()}")
    finally:
        for process in reversed(processes):
            process.stop()
    return result


def _cpu_sample(processes: list[services.Process]) -> dict[str, float]:
    """CPU seconds so far: the machine's busy time (/proc/stat, all cores), the skopeo runs (this process's
    reaped children: nothing else is run and reaped while the pushes go on), and each kind of long-lived
    process with its descendants (the web instances with their workers, the background processes, the
    registry). What remains of the machine's is PostgreSQL's, the poller's and the rest."""
    tick = os.sysconf("SC_CLK_TCK")
    ticks = machine_ticks()
    sample = {"machine": (sum(ticks.values()) - ticks["idle"] - ticks["iowait"]) / tick,
              "skopeo": (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(resource.RUSAGE_CHILDREN))}
    stats: dict[int, tuple[int, float]] = {}  # pid → (parent, CPU seconds)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            after = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(after[1]), (int(after[11]) + int(after[12])) / tick)
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)

    def tree(pid: int) -> float:
        return stats.get(pid, (0, 0.0))[1] + sum(tree(child) for child in children.get(pid, []))

    for process in processes:
        kind = process.name.rstrip("0123456789")
        sample[kind] = sample.get(kind, 0.0) + tree(process.pid)
    return sample


def _cpu_share(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Cores busy on average over `seconds`, by part, with what no part accounts for as the rest."""
    share = {name: (after[name] - before.get(name, 0.0)) / max(seconds, 1e-9) for name in after}
    share["PostgreSQL and the rest"] = max(0.0, share["machine"] - sum(v for k, v in share.items() if k != "machine"))
    return share


def _as_epoch(value) -> float:
    """A database time (aware from PostgreSQL; naive UTC text from SQLite) in seconds since the epoch."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _processed(log_paths: list[Path]) -> dict[tuple[str, str], tuple[float, float]]:
    """(start, end) of each tag push's processing, from the background's JSON line that ends it (its time
    is the end, `seconds` its duration); the first such line of a push when there are several."""
    found: dict[tuple[str, str], tuple[float, float]] = {}
    for path in log_paths:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if not line.startswith("{") or '"mirror.processing"' not in line:
                continue
            try:
                entry = json.loads(line)
                if entry.get("action") != "push" or not entry.get("tag") or entry.get("status") != "done":
                    continue
                end = datetime.fromisoformat(entry["time"]).timestamp()
                key = (entry["repository"], entry["tag"])
                start = end - float(entry["seconds"])
            except (ValueError, KeyError, TypeError):
                continue
            if key not in found or found[key][1] > end:
                found[key] = (start, end)
    return found


def _legs(database_url: str, log_paths: list[Path], exited: dict, seen: dict) -> dict[str, list[float]]:
    conn, mark = _connect(database_url)
    try:
        cursor = conn.cursor()
        cursor.execute(RECEIVED_SQL.replace("%s", mark), [f"{USER}/%"])
        received: dict[tuple[str, str], float] = {}
        queued: dict[tuple[str, str], float] = {}
        for repository, tag, at, stamp in cursor.fetchall():
            key = (repository, tag)
            if _as_epoch(at) < received.get(key, float("inf")):
                received[key], queued[key] = _as_epoch(at), _as_epoch(at) - _as_epoch(stamp)
        cursor.close()
    finally:
        conn.close()
    processed = _processed(log_paths)
    legs: dict[str, list[float]] = {leg: [] for leg in (*LEGS, QUEUED)}
    for key, exit_at in exited.items():
        if key not in received or key not in processed or key not in seen:
            continue
        start, end = processed[key]
        for leg, value in zip(LEGS, (received[key] - exit_at, start - received[key], end - start, seen[key] - end),
                              strict=True):
            legs[leg].append(value)
        legs[QUEUED].append(queued[key])
    return legs


def _capture(function, job) -> str:
    try:
        function(job)
    except Exception as exc:  # noqa: BLE001 - reported in the result
        return f"push {job[1]}:{job[2]} failed: {exc}"
    return ""


def _check_api(web_url: str, token: str, expected: dict, result: PushResult) -> None:
    """Every pushed tag listed by the API, with its digest, once."""
    session = requests.Session()
    session.trust_env = False
    headers = {"Portus-Auth": f"{USER}:{token}"}
    repos = session.get(f"{web_url}/api/v1/repositories", params={"all": "true"}, headers=headers, timeout=30)
    repos.raise_for_status()
    listed: dict[tuple[str, str], list[str]] = {}
    for repo in repos.json():
        if not repo["full_name"].startswith(f"{USER}/"):
            continue
        tags = session.get(f"{web_url}/api/v1/repositories/{repo['id']}/tags", headers=headers, timeout=30)
        tags.raise_for_status()
        for tag in tags.json():
            listed.setdefault((repo["full_name"], tag["name"]), []).append(tag["digest"])
    for key, digest in expected.items():
        if listed.get(key) != [digest]:
            result.problems.append(f"the API lists {key} as {listed.get(key)}, expected [{digest}]")
            break


ROWS = """
from mirror.models import Event
from namespaces.models import Tag
from django.db.models import Count
dupes = Tag.objects.values("repository_id", "name").annotate(n=Count("id")).filter(n__gt=1).count()
pushes = Event.objects.filter(action="push").exclude(tag="").values("repository", "tag").distinct().count()
bad = Event.objects.filter(status__in=["flagged", "failed"]).count()
pending = Event.objects.filter(status="pending").count()
print("ROWS " + __import__("json").dumps({"tags": Tag.objects.filter(repository__namespace__name=%r).count(),
      "duplicate_tags": dupes, "tag_push_events": pushes, "flagged_or_failed": bad, "pending": pending}))
"""


def _check_rows(manage, expected: dict, result: PushResult) -> None:
    """One row per tag, one stored manifest-push event per push, and nothing flagged, failed or left
    pending (pull events of the pushes may still be worked on for a moment: waited for)."""
    deadline = time.monotonic() + 15
    while True:
        rows = json.loads(manage("shell", "-c", ROWS % USER).split("ROWS ", 1)[1])
        if not rows["pending"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if rows["tags"] != len(expected) or rows["duplicate_tags"]:
        result.problems.append(f"tag rows: {rows}")
    if rows["tag_push_events"] != len(expected):
        result.problems.append(f"manifest push events stored: {rows['tag_push_events']} of {len(expected)}")
    if rows["flagged_or_failed"] or rows["pending"]:
        result.problems.append(f"events not processed cleanly: {rows}")
    result.rows = rows
