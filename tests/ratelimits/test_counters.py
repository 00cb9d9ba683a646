"""The failure counters: a sliding window per address, atomic, shared by every process, bounded."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ratelimits.models import FailureCounter
from ratelimits.services import _clear_at, _weighted, failure_record, failure_wait

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db
NOW = 1_700_000_000.0  # a window of 600 s starts at 1_699_999_800


@pytest.fixture(autouse=True)
def _budget(options):
    options.set("rate_limit.failures", 3)
    options.set("rate_limit.window_seconds", 600)


def test_the_budget_is_let_through_and_then_the_address_waits_until_it_has_slid_back_under():
    for _ in range(3):
        assert failure_wait(address="192.0.2.1", now=NOW) == 0
        failure_record(address="192.0.2.1", now=NOW)
    # 200 s into its window: the three count in full until it ends, then two thirds of them
    # (rounded up: 3, then 2) until 200 s into the next.
    assert failure_wait(address="192.0.2.1", now=NOW) == 600
    assert failure_wait(address="192.0.2.2", now=NOW) == 0
    assert failure_wait(address="192.0.2.1", now=NOW + 400) == 200  # the next window has begun
    assert failure_wait(address="192.0.2.1", now=NOW + 599) == 1
    assert failure_wait(address="192.0.2.1", now=NOW + 600) == 0
    assert FailureCounter.objects.get(address="192.0.2.1").count == 3


END = 1_699_999_800 + 600  # the turn of a window


def test_a_windows_turn_does_not_renew_the_budget():
    """A fixed window would let 3 guesses through in its last second and 3 more in the next one's first."""
    for _ in range(3):
        failure_record(address="192.0.2.1", now=END - 0.5)
    assert failure_wait(address="192.0.2.1", now=END) > 0
    assert failure_wait(address="192.0.2.1", now=END + 1) > 0


def test_failures_either_side_of_a_turn_add_up():
    failure_record(address="192.0.2.1", now=END - 0.001)
    for _ in range(2):
        assert failure_wait(address="192.0.2.1", now=END + 0.004) == 0
        failure_record(address="192.0.2.1", now=END + 0.004)
    assert failure_wait(address="192.0.2.1", now=END + 0.01) > 0


def test_the_previous_windows_failures_fade_as_it_slides_out():
    for _ in range(3):
        failure_record(address="192.0.2.1", now=END - 600)
    assert failure_wait(address="192.0.2.1", now=END) > 0  # all three still inside the last 600 s
    assert failure_wait(address="192.0.2.1", now=END + 200) == 0  # ceil(3 × 400/600) = 2
    failure_record(address="192.0.2.1", now=END + 200)
    assert failure_wait(address="192.0.2.1", now=END + 200) == 200  # 1 + ceil(3 × (600 − e)/600) < 3 from e = 400


def _weighted_at(previous: int, current: int, *, start: int, length: int, at: float) -> int:
    """The weighted count at `at` (in the current window or a later one) if nothing more is failed."""
    if at < start + length:
        return _weighted(previous, current, elapsed=at - start, length=length)
    if at < start + 2 * length:
        return _weighted(current, 0, elapsed=at - start - length, length=length)
    return 0


@settings(max_examples=500, deadline=None)
@given(previous=st.integers(0, 1000), current=st.integers(0, 1000), elapsed=st.floats(0, 599.999),
       budget=st.integers(1, 200))
def test_the_wait_is_exact(previous, current, elapsed, budget):
    """Refused now, the address is let in at the time the wait names and not a second earlier."""
    start, length = 1_699_999_800, 600
    if _weighted(previous, current, elapsed=elapsed, length=length) < budget:
        return
    clear = _clear_at(previous, current, start=start, length=length, budget=budget)
    assert clear > start + elapsed
    assert clear <= start + 2 * length
    assert _weighted_at(previous, current, start=start, length=length, at=clear + 1e-6) < budget
    assert _weighted_at(previous, current, start=start, length=length, at=clear - 0.01) >= budget


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.floats(END - 600, END), gaps=st.lists(st.one_of(st.floats(0, 1), st.floats(0, 400)),
                                                      min_size=1, max_size=40))
def test_a_guesser_at_any_pace_gets_fewer_than_twice_the_budget_in_any_window(first, gaps):
    """Whatever the times of its attempts, an address never has 2 × N failures let through in L seconds,
    never N + 1 within a second, and every 429's wait is honest."""
    FailureCounter.objects.all().delete()
    now, allowed = first, []
    for gap in gaps:
        now += gap
        wait = failure_wait(address="192.0.2.7", now=now)
        if wait:
            assert failure_wait(address="192.0.2.7", now=now + wait) == 0
            continue
        failure_record(address="192.0.2.7", now=now)
        allowed.append(now)
    for i, first in enumerate(allowed):
        inside = [t for t in allowed[i:] if t < first + 600]
        assert len(inside) < 6
        assert len([t for t in inside if t < first + 1]) <= 3


def test_disabled_limits_neither_count_nor_refuse(options):
    options.set("rate_limit.enabled", False)
    for _ in range(5):
        failure_record(address="192.0.2.1", now=NOW)
    assert failure_wait(address="192.0.2.1", now=NOW) == 0
    assert not FailureCounter.objects.exists()


def test_rotating_addresses_leaves_about_two_windows_of_rows():
    """An attacker who changes address every time cannot grow the table window after window."""
    for window in range(5):
        for i in range(60):
            failure_record(address=f"2001:db8:{window}:{i}::/64", now=NOW + window * 600)
    # Each new row deletes up to 100 older than the previous window: the last two windows' rows are left.
    assert FailureCounter.objects.count() == 120
    assert set(FailureCounter.objects.values_list("window_start", flat=True)) == {1_699_999_800 + 3 * 600,
                                                                                  1_699_999_800 + 4 * 600}


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
