"""The delivery loop that `manage.py portus_background` runs in a thread of its own, so that a slow
webhook never delays the registry's events (and the other way round)."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections, connection

from hooks import queue

log = logging.getLogger("hooks.background")

PRUNE_EVERY_SECONDS = 3600


def loop(stopping: threading.Event, *, interval: float = 1.0) -> None:
    next_prune = 0.0
    try:
        while not stopping.is_set():
            claimed = 0
            try:
                close_old_connections()
                claimed = queue.deliver_batch(limit=10, should_stop=stopping.is_set)
                if time.monotonic() >= next_prune:
                    queue.deliveries_prune()
                    next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
            except Exception:  # the database went away, say: keep going, try again shortly
                log.exception("webhook deliveries: loop error")
                connection.close()
                stopping.wait(5.0)
                continue
            if not claimed:
                stopping.wait(interval)
    finally:
        connection.close()


def start(stopping: threading.Event) -> threading.Thread:
    """Starts the loop in a daemon thread; it ends when `stopping` is set."""
    thread = threading.Thread(target=loop, args=(stopping,), name="portus-webhooks", daemon=True)
    thread.start()
    return thread
