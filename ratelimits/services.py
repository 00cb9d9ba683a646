"""Counting failed logins per client address, and saying how long an address over its budget must wait.

A fixed window per address (`rate_limit.window_seconds`): the first `rate_limit.failures` failures in a
window are let through, after that the address is answered 429 until the window ends. Counts are rows in
the database, bumped with an atomic `UPDATE … SET count = count + 1`, so every worker and host shares
them (no Redis needed). Only failures write; a refused (429) attempt is not counted again, and a
success never touches the table. Writing a new window's row deletes a bounded batch of expired rows, so
an attacker who rotates addresses cannot grow the table beyond the failures of the current window.
"""

from __future__ import annotations

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


def failure_wait(*, address: str, now: float | None = None) -> int:
    """Seconds `address` must wait before trying again (0: it may try now). One indexed read."""
    if not option("rate_limit.enabled"):
        return 0
    now = time.time() if now is None else now
    start, length = _window(now)
    count = FailureCounter.objects.filter(address=address, window_start=start).values_list(
        "count", flat=True).first()
    if count is None or count < option("rate_limit.failures"):
        return 0
    return max(1, int(start + length - now + 0.999))


def failure_record(*, address: str, now: float | None = None) -> None:
    """Counts one failure against `address` in the current window."""
    if not option("rate_limit.enabled"):
        return
    start, _ = _window(time.time() if now is None else now)
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
    expired = FailureCounter.objects.filter(window_start__lt=start).values("pk")[:_PRUNE_BATCH]
    FailureCounter.objects.filter(pk__in=expired).delete()
