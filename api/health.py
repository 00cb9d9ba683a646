"""What /api/v1/health reports: the database, the registries and the background processes.

The endpoint is anonymous (load balancers call it) and each measurement calls every registry, so one
measurement serves every caller of this process for CACHE_SECONDS (one slot: nothing a caller sends picks
a cache entry), and while it is being refreshed the others get the previous one instead of waiting.
Anonymous callers and non-admins learn only whether everything is healthy; admins get each component's
message, which names registries.
"""

from __future__ import annotations

import threading
import time

from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from namespaces import policy
from portus.options import option

CACHE_SECONDS = 5.0
_refreshing = threading.Lock()
_last: tuple[float, dict, bool] | None = None  # (monotonic time, body, healthy)

# The code of a running process does not change: once its migrations are applied, they stay applied.
_migrated = False


def check_database() -> tuple[str, bool]:
    global _migrated
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrated:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if pending:
                return f"database has {len(pending)} migrations to apply", False
            _migrated = True
    except DatabaseError:
        return "cannot connect to database", False
    return "database is up-to-date", True


def check_registries() -> tuple[str, bool]:
    from registries.models import Registry
    from registries.services import registry_check

    try:
        registries = list(Registry.objects.order_by("id"))
    except DatabaseError:
        return "cannot read the registries", False
    if not registries:
        return "no registry configured", False
    failures = []
    for registry in registries:
        if not registry_check(hostname=registry.hostname, use_ssl=registry.use_ssl).ok:
            failures.append(registry.name)
    if failures:
        return f"registry is not reachable: {', '.join(failures)}", False
    return "registry is reachable", True


def check_background() -> dict[str, tuple[str, bool]]:
    """Is a background process beating, and is the inbox keeping up? `background` fails when no process
    has beaten within HEARTBEAT_STALE; `inbox` when the oldest event due for processing has waited more
    than `health.max_inbox_lag` seconds (the registry's pushes then show up late, or never)."""
    try:
        from mirror.services import background_status
    except ImportError:
        return {}
    try:
        with transaction.atomic():
            status = background_status()
    except DatabaseError:
        return {}
    if status.running:
        results = {"background": (f"background process is running ({len(status.alive)})", True)}
    else:
        results = {"background": ("no background process is running", False)}
    limit = int(option("health.max_inbox_lag"))
    lag = status.backlog_age.total_seconds() if status.backlog_age is not None else None
    if lag is None:
        results["inbox"] = ("no event is waiting", True)
    elif lag > limit:
        results["inbox"] = (f"the oldest due event has waited {lag:.0f} s, more than {limit} s", False)
    else:
        results["inbox"] = (f"the oldest due event has waited {lag:.0f} s", True)
    return results


def measure() -> tuple[dict, bool]:
    """({component: {msg, success}}, everything healthy), measured now."""
    results = {"database": check_database()}
    if results["database"][1]:
        results["registry"] = check_registries()
        results.update(check_background())
    body = {name: {"msg": msg, "success": ok} for name, (msg, ok) in results.items()}
    return body, all(ok for _, ok in results.values())


def health() -> tuple[dict, bool]:
    """The latest measurement, at most CACHE_SECONDS old (older only while another thread refreshes it)."""
    global _last
    last = _last
    if last is not None and time.monotonic() - last[0] < CACHE_SECONDS:
        return last[1], last[2]
    if not _refreshing.acquire(blocking=last is None):
        return last[1], last[2]
    try:
        if _last is not None and _last is not last and time.monotonic() - _last[0] < CACHE_SECONDS:
            return _last[1], _last[2]  # another thread measured while this one waited for the lock
        body, ok = measure()
        _last = (time.monotonic(), body, ok)
        return body, ok
    finally:
        _refreshing.release()


def health_for(user) -> tuple[dict, bool]:
    """What `user` may see of the health: every component for admins, else only {"success": …}."""
    body, ok = health()
    if policy.is_admin(user):
        return body, ok
    return {"success": ok}, ok


def forget() -> None:
    """Drops the cached measurement (for tests)."""
    global _last
    _last = None
