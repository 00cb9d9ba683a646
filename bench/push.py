"""Push to visible: skopeo pushes against the real registry, with two web instances and two background
processes on one database, and the time from each push's exit to its tag being visible.

The registry notifies both web instances (two endpoints in its `notifications` section), so every event
arrives twice and must be stored once; both background processes work the same inbox. Visibility is
polled in the tags table that the API reads (one query every 20 ms for all pushes still waiting, so the
poller adds no load worth speaking of), and the API is asked at the end for every tag. The scenario
reports, besides the latencies, whatever went wrong: a push never visible, a duplicate row, an event
lost or failed, a deadlock in a log. Used by `manage.py bench --only push` (200 pushes, 50 at once) and
by tests/e2e/test_push_to_visible.py at a size CI affords.

It drives real parts with the end-to-end tests' process helpers (tests/e2e/support)."""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

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


@dataclass
class PushResult:
    pushes: int
    concurrency: int
    latencies: list[float] = field(default_factory=list)  # seconds, skopeo exit → visible
    push_seconds: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    wall: float = 0.0
    rows: dict = field(default_factory=dict)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def summary(self) -> str:
        if not self.latencies:
            return "no push became visible"
        return (f"{self.pushes} pushes, {self.concurrency} at once, in {self.wall:.1f} s: push→visible "
                f"p50 {statistics.median(self.latencies) * 1000:.0f} ms, p99 {self.percentile(0.99) * 1000:.0f} ms, "
                f"max {max(self.latencies) * 1000:.0f} ms; skopeo itself p50 "
                f"{statistics.median(self.push_seconds):.2f} s")


def _connect(database_url: str):
    if database_url.startswith("sqlite:///"):
        import sqlite3

        return sqlite3.connect(database_url[len("sqlite:///"):], timeout=20, check_same_thread=False), "?"
    import psycopg2

    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    return conn, "%s"


def run(root: Path, env: dict, *, pushes: int, concurrency: int, webs: int = 2, backgrounds: int = 2,
        timeout: float = 60.0) -> PushResult:
    """The whole scenario in `root`, against the (migrated, empty) database of `env["DATABASE_URL"]`."""
    result = PushResult(pushes=pushes, concurrency=concurrency)
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
        for n in range(backgrounds):
            processes.append(services.Process(f"background{n}", [sys.executable, "manage.py", "portus_background"],
                                              log_path=root / f"background{n}.log", env=env, cwd=ROOT))
        for url, web in zip(web_urls, processes, strict=False):
            services.wait_for(lambda url=url: requests.get(f"{url}/v2/token", timeout=2).status_code in (200, 401),
                              timeout=60, what=url, alive=web.alive, logs=web.log_tail)
        config_path = root / "registry.yml"
        manage("registry_config", "--portus-url", web_urls[0], "--registry", "push", "--listen", registry_addr,
               "--storage", str(root / "storage"), "--timeout", "2s", "-o", str(config_path))
        config = yaml.safe_load(config_path.read_text())
        first = config["notifications"]["endpoints"][0]
        config["notifications"]["endpoints"] = [
            dict(first, name=f"portus{n}", url=first["url"].replace(web_urls[0], url))
            for n, url in enumerate(web_urls)
        ]
        services.write_registry_config(config_path, config)
        processes.append(services.start_registry(config_path, log_path=root / "registry.log"))

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
            started = time.monotonic()
            services.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", f"{USER}:{token}",
                          f"oci:{layouts / str(i)}:{tag}", f"docker://{registry_addr}/{repository}:{tag}"],
                         env=services.client_env(), timeout=120)
            now = time.monotonic()
            with lock:
                exited[(repository, tag)] = now
                result.push_seconds.append(now - started)

        def watch() -> None:
            conn, mark = _connect(env["DATABASE_URL"])
            try:
                sql = WAITING_SQL.replace("%s", mark)
                while not done.is_set() or len(seen) < len(exited):
                    cursor = conn.cursor()
                    cursor.execute(sql, [USER])
                    now = time.monotonic()
                    for repository, tag, digest in cursor.fetchall():
                        key = (repository, tag)
                        with lock:
                            if key in exited and key not in seen and expected.get(key) == digest:
                                seen[key] = now
                    cursor.close()
                    if done.is_set() and time.monotonic() > deadline:
                        break
                    time.sleep(0.02)
            finally:
                conn.close()

        deadline = float("inf")
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.monotonic()
        with ThreadPoolExecutor(concurrency) as pool:
            for failure in pool.map(lambda job: _capture(push, job), jobs):
                if failure:
                    result.problems.append(failure)
        deadline = time.monotonic() + timeout
        done.set()
        watcher.join(timeout + 5)
        result.wall = time.monotonic() - started
        result.latencies = [seen[k] - exited[k] for k in seen]
        missing = sorted(set(exited) - set(seen))
        if missing:
            result.problems.append(f"{len(missing)} pushes never became visible within {timeout:.0f} s: {missing[:5]}")
        _check_api(web_urls[-1], token, expected, result)
        _check_rows(manage, expected, result)
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
