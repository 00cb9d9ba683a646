"""The group sync's place in `manage.py portus_background`: a thread of its own, so that a slow
directory never delays registry events."""

from __future__ import annotations

import logging
import threading

from django.db import connection

from ldapauth.sync import run_due
from portus.options import option

log = logging.getLogger("ldapauth")


def _loop(stopping: threading.Event, holder: str) -> None:
    try:
        while not stopping.is_set():
            try:
                run_due(holder=holder)
            except Exception:  # the database or the directory went away: try again at the next turn
                log.exception("LDAP group sync: error")
                connection.close()
            stopping.wait(min(10.0, float(option("ldap.group_sync.interval"))))
    finally:
        connection.close()


def start(*, stopping: threading.Event, holder: str) -> threading.Thread | None:
    """Starts the sync thread when LDAP is on; it ends when `stopping` is set."""
    if not option("ldap.enabled"):
        return None
    thread = threading.Thread(target=_loop, args=(stopping, holder), name="portus-ldap-sync", daemon=True)
    thread.start()
    return thread


def once(write) -> None:
    """For `portus_background --once`: a due run, and what it did."""
    report = run_due(holder="once", force=False)
    if report is not None:
        write(f"LDAP group sync: {report.outcome} {report.summary()}")
