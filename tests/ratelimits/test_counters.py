"""The failure counters: a fixed window per address, atomic, shared by every process, bounded."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ratelimits.models import FailureCounter
from ratelimits.services import failure_record, failure_wait

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db
NOW = 1_700_000_000.0  # a window of 600 s starts at 1_699_999_800


@pytest.fixture(autouse=True)
def _budget(options):
    options.set("rate_limit.failures", 3)
    options.set("rate_limit.window_seconds", 600)


def test_the_budget_is_let_through_and_then_the_address_waits_for_the_window_to_end():
    for _ in range(3):
        assert failure_wait(address="192.0.2.1", now=NOW) == 0
        failure_record(address="192.0.2.1", now=NOW)
    assert failure_wait(address="192.0.2.1", now=NOW) == 400
    assert failure_wait(address="192.0.2.2", now=NOW) == 0
    assert failure_wait(address="192.0.2.1", now=NOW + 400) == 0
    assert FailureCounter.objects.get(address="192.0.2.1").count == 3


def test_disabled_limits_neither_count_nor_refuse(options):
    options.set("rate_limit.enabled", False)
    for _ in range(5):
        failure_record(address="192.0.2.1", now=NOW)
    assert failure_wait(address="192.0.2.1", now=NOW) == 0
    assert not FailureCounter.objects.exists()


def test_rotating_addresses_leaves_about_one_window_of_rows():
    """An attacker who changes address every time cannot grow the table window after window."""
    for window in range(5):
        for i in range(60):
            failure_record(address=f"2001:db8:{window}:{i}::/64", now=NOW + window * 600)
    # Each new row deletes up to 100 expired ones: only the last window's rows are left.
    assert FailureCounter.objects.count() == 60
    assert set(FailureCounter.objects.values_list("window_start", flat=True)) == {1_699_999_800 + 4 * 600}


WORKER = """
import django, sys
django.setup()
from ratelimits.services import failure_record
for _ in range(int(sys.argv[1])):
    failure_record(address="203.0.113.5")
"""
CHECK = """
import django
django.setup()
from ratelimits.services import failure_wait
print(failure_wait(address="203.0.113.5"))
"""


def test_processes_share_the_count_and_lose_no_increment(tmp_path):
    """Four processes (as four gunicorn workers or hosts would) count into one row; a fifth sees it."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'limits.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT),
           # One window from 2001 to 2033, so that no window turns during the test.
           "PORTUS_RATE_LIMIT_FAILURES": "100", "PORTUS_RATE_LIMIT_WINDOW_SECONDS": str(10**9)}
    run = dict(cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True, **run)
    assert subprocess.run([sys.executable, "-c", CHECK], check=True, **run).stdout.strip() == "0"
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, "25"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err for _, err in outputs]
    with sqlite3.connect(tmp_path / "limits.sqlite3") as db:
        rows = db.execute("SELECT count FROM ratelimits_failurecounter WHERE address = '203.0.113.5'").fetchall()
    assert rows == [(100,)]
    assert int(subprocess.run([sys.executable, "-c", CHECK], check=True, **run).stdout) > 0
