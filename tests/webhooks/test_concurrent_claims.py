"""Several workers claiming at once never share an event (real transactions, real concurrency)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection, connections
from django.utils import timezone

from mirror import processing
from mirror.models import Event

ROOT = Path(__file__).resolve().parents[2]


def _events(count: int) -> list[Event]:
    now = timezone.now()
    return [Event(event_id=f"c{i}", action="delete", repository="qa/app", tag=f"t{i}", timestamp=now,
                  received_at=now, next_attempt_at=now, raw="{}") for i in range(count)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_threads_never_claim_the_same_event():
    if connection.vendor != "postgresql":
        pytest.skip("threads sharing the in-memory test database lock whole tables; see the process test")
    Event.objects.bulk_create(_events(200))
    claimed: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker() -> None:
        try:
            start.wait()
            while taken := processing.claim(limit=7).events:
                claimed.extend(e.pk for e in taken)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(claimed) == 200
    assert not [pk for pk, n in Counter(claimed).items() if n > 1]


WORKER = """
import django, sys
django.setup()
from mirror import processing
ids = []
while taken := processing.claim(limit=5).events:
    ids.extend(e.pk for e in taken)
print(" ".join(map(str, ids)))
"""

SEED = """
import django
django.setup()
from django.utils import timezone
from mirror.models import Event
now = timezone.now()
Event.objects.bulk_create([Event(event_id=f"c{i}", action="delete", repository="qa/app", tag=f"t{i}",
                                 timestamp=now, received_at=now, next_attempt_at=now, raw="{}")
                           for i in range(300)])
"""


def test_concurrent_processes_on_a_sqlite_file_never_claim_the_same_event(tmp_path):
    """SQLite has no FOR UPDATE: the conditional UPDATE is the claim (PostgreSQL: the thread test)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'claims.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    run = dict(cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True, **run)
    subprocess.run([sys.executable, "-c", SEED], check=True, **run)
    workers = [subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err for _, err in outputs]
    claimed = [int(pk) for out, _ in outputs for pk in out.split()]
    assert len(claimed) == 300
    assert len(set(claimed)) == 300


@pytest.mark.django_db(transaction=True)
def test_a_push_and_the_later_delete_applied_at_the_same_moment_never_resurrect(registry):
    """Both writes about one repository name are serialised: whichever runs first, the tag ends deleted."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every writer already (BEGIN IMMEDIATE)")
    from datetime import UTC, datetime

    from namespaces.models import Tag
    from namespaces.tags import tag_apply_delete, tag_apply_push

    early, late = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    errors: list[BaseException] = []

    def run(write) -> None:
        try:
            write()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    for i in range(15):
        digest = "sha256:" + f"{i:064x}"
        push = functools.partial(
            tag_apply_push, registry=registry, repository_name="race/app", tag=f"t{i}", digest=digest,
            media_type="", image_id="", size=1, platforms=[], author=None, event_time=early)
        delete = functools.partial(tag_apply_delete, registry=registry, repository_name="race/app", digest=digest,
                                   event_time=late)
        threads = [threading.Thread(target=run, args=(w,)) for w in (push, delete)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors
    assert not Tag.objects.filter(repository__name="app").exists()
