"""The retention thread of `manage.py portus_background`: queues the scheduled run, works queued runs.

A thread of its own, so that a long run never delays the registry's events; it stops with the process
(between two images: an unfinished run is handed back, queued, and continued by the next process)."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections, connection

from retention import runs

log = logging.getLogger("retention.background")
POLL_SECONDS = 2.0
PRUNE_EVERY_SECONDS = 3600


def _loop(stopping: threading.Event, holder: str) -> None:
    next_prune = 0.0
    try:
        while not stopping.is_set():
            worked = None
            try:
                close_old_connections()
                if time.monotonic() >= next_prune:
                    runs.runs_prune()
                    next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                worked = runs.background_tick(holder=holder, should_stop=stopping.is_set)
            except Exception:  # the database went away, say: try again shortly
                log.exception("retention: background error")
                connection.close()
            if worked is None:
                stopping.wait(POLL_SECONDS)
    finally:
        connection.close()


def start(stopping: threading.Event, holder: str) -> threading.Thread:
    """Starts the thread; it ends once `stopping` is set."""
    thread = threading.Thread(target=_loop, args=(stopping, holder), name="portus-retention", daemon=True)
    thread.start()
    return thread
