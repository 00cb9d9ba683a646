"""Waking the background when an event arrives, instead of at its next poll.

On PostgreSQL the inbox has a statement trigger that NOTIFYs `portus_inbox` when an insert stores a
pending event (mirror/migrations/0003_inbox_notify.py); the notification is sent when the web's
transaction commits, so a woken process finds the row. Each background process LISTENs on a connection
of its own and, with nothing to do, waits on it for at most the poll interval. The poll stays: it is what
finds events due for a retry, and all of the work on SQLite (one host: the poll is short there anyway).

A connection rings at most once per RING_WINDOW_SECONDS (mirror/migrations/0004_…): a notifying commit
takes PostgreSQL's one notification lock through its flush, and one per delivery serialized the inbox's
commits. What the same connection stores within the window after it rang is found because a process that
was woken looks at the inbox again LOOK_AGAIN_SECONDS later, a window and a margin for that commit after
the ring it heard; so it does after it starts to LISTEN (a ring sent just before went to nobody).

Nothing is lost by a missed notification: the poll finds the row at most one interval later. LISTEN is
set before the wait's first claim finds nothing, so a notification sent between the claim and the wait is
kept by the connection and ends the wait at once. A broken connection is dropped and made again after
RETRY_SECONDS; meanwhile the process polls.
"""

from __future__ import annotations

import logging
import select
import threading
import time

from django.db import connection

log = logging.getLogger(__name__)

CHANNEL = "portus_inbox"
RETRY_SECONDS = 5.0
SLICE_SECONDS = 0.25  # how often a wait looks at `stopping`
# The trigger's window, written into it by mirror/migrations/0004_inbox_notify_once_per_window.py.
RING_WINDOW_SECONDS = 0.05
# After a ring is heard (or LISTEN begins): the window, and time for a commit whose ring it skipped.
LOOK_AGAIN_SECONDS = RING_WINDOW_SECONDS + 0.05


class InboxWake:
    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping
        self._conn = None
        self._retry_at = 0.0
        self._look_again_at: float | None = None
        # Why the last wait ended: "notification", "look again", "timeout", "stopping" or "failed".
        self.woken_by = ""

    def _listening(self):
        if self._conn is not None or connection.vendor != "postgresql" or time.monotonic() < self._retry_at:
            return self._conn
        try:
            conn = connection.get_new_connection(connection.get_connection_params())
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
        except Exception as exc:  # noqa: BLE001 - the poll goes on without it
            log.warning("inbox wake: cannot LISTEN (%s: %s); polling only, trying again in %.0f s",
                        exc.__class__.__name__, exc, RETRY_SECONDS)
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return None
        self._conn = conn
        self._look_again_at = time.monotonic() + LOOK_AGAIN_SECONDS
        return conn

    def start(self) -> None:
        """LISTENs now, before the first claim (on PostgreSQL; nothing elsewhere)."""
        self._listening()

    def wait(self, timeout: float) -> bool:
        """Waits up to `timeout` seconds for a new event, or until `stopping` is set. True when woken by
        a notification (sent, perhaps, since the last wait began); False at the timeout, or earlier when
        it is time to look again after a ring heard (`woken_by` says which)."""
        conn = self._listening()
        if conn is None:
            self.woken_by = "stopping" if self.stopping.wait(timeout) else "timeout"
            return False
        deadline = time.monotonic() + timeout
        self.woken_by = "stopping"
        try:
            while not self.stopping.is_set():
                conn.poll()
                if conn.notifies:
                    conn.notifies.clear()
                    self._look_again_at = time.monotonic() + LOOK_AGAIN_SECONDS
                    self.woken_by = "notification"
                    return True
                now, again = time.monotonic(), self._look_again_at
                if again is not None and now >= again:
                    self._look_again_at = None
                    self.woken_by = "look again"
                    return False
                left = deadline - now
                if left <= 0:
                    self.woken_by = "timeout"
                    return False
                select.select([conn], [], [], min(left, SLICE_SECONDS, (again - now) if again is not None else left))
        except Exception as exc:  # noqa: BLE001 - the connection broke: poll, and LISTEN again later
            log.warning("inbox wake: the LISTEN connection failed (%s: %s); polling", exc.__class__.__name__, exc)
            self.close()
            self._retry_at = time.monotonic() + RETRY_SECONDS
            self.woken_by = "failed"
        return False

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection
                pass
