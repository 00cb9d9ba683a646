"""What /api/v1/health reports: the database, the registries and the background processes."""

from __future__ import annotations

from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

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
        from webhooks.services import background_status
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


def health() -> tuple[dict, bool]:
    """({component: {msg, success}}, everything healthy)."""
    results = {"database": check_database()}
    if results["database"][1]:
        results["registry"] = check_registries()
        background = check_background()
        if background is not None:
            results["background"] = background
    body = {name: {"msg": msg, "success": ok} for name, (msg, ok) in results.items()}
    return body, all(ok for _, ok in results.values())
