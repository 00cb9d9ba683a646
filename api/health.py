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


def check_background() -> tuple[str, bool] | None:
    """Is a background process beating? None when this installation cannot tell (no heartbeats yet)."""
    try:
        from mirror.services import background_status
    except ImportError:
        return None
    try:
        with transaction.atomic():
            status = background_status()
    except DatabaseError:
        return None
    if status.running:
        return f"background process is running ({len(status.alive)})", True
    return "no background process is running", False


def measure() -> tuple[dict, bool]:
    """({component: {msg, success}}, everything healthy), measured now."""
    results = {"database": check_database()}
    if results["database"][1]:
        results["registry"] = check_registries()
        background = check_background()
        if background is not None:
            results["background"] = background
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
