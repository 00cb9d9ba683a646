"""Counting failed logins per client address, and saying how long an address over its budget must wait.

A sliding window per address (`rate_limit.window_seconds`, L): an address may fail about
`rate_limit.failures` (N) times in any L seconds. The count is kept in fixed windows of L seconds, one
row per address and window, and judged over the last L seconds as the current window's count plus the
previous window's count weighted by the share of it still inside the last L seconds, rounded up. A
fixed window alone would let a guesser spend N at the end of one window and N more at the start of the
next; here what was failed just before the turn still counts just after it, and one failure in the
previous window counts in full until that window has slid out. However an address paces its attempts,
fewer than 2 × N are let through in any L seconds, and at most N within a second of a turn (for N < L)
(tests/ratelimits/test_counters.py tries every pace).

Over its budget, an address is answered 429 with the seconds until the weighted count falls below N
again (if nothing more is failed): at most 2 × L, about L + L / N for an address that spent its
budget in one window.

Counts are rows in the database, bumped with an atomic `UPDATE … SET count = count + 1`, so every
worker and host shares them (no Redis needed). Only failures write; a refused (429) attempt is not
counted again, and a success never touches the table. Writing a new window's row deletes a bounded
batch of rows older than the previous window, so an attacker who rotates addresses cannot grow the
table beyond the failures of two windows.
"""

from __future__ import annotations

import math
import time

from django.db import IntegrityError, transaction
from django.db.models import F

from portus.config import ConfigError
from portus.options import option
from ratelimits.models import FailureCounter

_PRUNE_BATCH = 100


def check_options() -> None:
    """Refuses a `rate_limit` section that cannot work (called at start-up)."""
    for name in ("failures", "window_seconds"):
        if option(f"rate_limit.{name}") < 1:
            raise ConfigError(f"rate_limit.{name}: must be at least 1")


def _window(now: float) -> tuple[int, int]:
    """(start of the current window, its length), in whole seconds."""
    length = int(option("rate_limit.window_seconds"))
    return int(now) - int(now) % length, length


def _weighted(previous: int, current: int, *, elapsed: float, length: int) -> int:
    """The failures of the last `length` seconds, `elapsed` seconds into the current window."""
    return current + math.ceil(previous * max(0.0, length - elapsed) / length)


def _clear_at(previous: int, current: int, *, start: int, length: int, budget: int) -> float:
    """When the weighted count falls below `budget` if nothing more is failed (Unix time).

    ceil(x) <= k for a whole k exactly when x <= k, so within the current window the count is below
    the budget once previous × (length − elapsed) / length <= budget − current − 1; a current window
    at or over the budget first has to become the previous one."""
    if current < budget:
        return start + length * (1 - (budget - current - 1) / previous)
    return start + length + length * (1 - (budget - 1) / current)


def failure_wait(*, address: str, now: float | None = None) -> int:
    """Seconds `address` must wait before trying again (0: it may try now). One indexed read."""
    if not option("rate_limit.enabled"):
        return 0
    now = time.time() if now is None else now
    start, length = _window(now)
    counts = dict(FailureCounter.objects.filter(
        address=address, window_start__in=(start - length, start)).values_list("window_start", "count"))
    previous, current = counts.get(start - length, 0), counts.get(start, 0)
    budget = option("rate_limit.failures")
    if _weighted(previous, current, elapsed=now - start, length=length) < budget:
        return 0
    return max(1, math.ceil(_clear_at(previous, current, start=start, length=length, budget=budget) - now))


def failure_record(*, address: str, now: float | None = None) -> None:
    """Counts one failure against `address` in the current window."""
    if not option("rate_limit.enabled"):
        return
    start, length = _window(time.time() if now is None else now)
    rows = FailureCounter.objects.filter(address=address, window_start=start)
    if rows.update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            FailureCounter.objects.create(address=address, window_start=start, count=1)
    except IntegrityError:
        # Another worker created the row between our UPDATE and INSERT: count on it.
        rows.update(count=F("count") + 1)
        return
    expired = FailureCounter.objects.filter(window_start__lt=start - length).values("pk")[:_PRUNE_BATCH]
    FailureCounter.objects.filter(pk__in=expired).delete()
