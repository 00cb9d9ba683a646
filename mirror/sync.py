"""Reconciling the browsable copy with the registry's catalog (`background.sync.strategy`).

Strategies:
- `initial`: only for a registry with no repository here yet (a fresh install next to a full registry);
- `update`: add what is missing and repoint tags that moved;
- `update-delete`: also remove tags and repositories the registry no longer has;
- `on-start`: `update-delete` once when the background process starts, then nothing.
Events remain the main way changes arrive; the sync repairs what events missed. What it writes never
overrides a newer event (namespaces/tags.py explains the clocks). `last_sync_at` is the last attempt
(so a registry that is down is not hammered), `last_sync_error` what went wrong in it ('' when nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from namespaces import tags as tag_services
from namespaces.models import Repository, Tag
from portus.options import option
from registries.client import ManifestUnknown, RegistryClient, RegistryError, RegistryUnavailable
from registries.models import Registry

log = logging.getLogger(__name__)

STRATEGIES = ("initial", "update", "update-delete", "on-start")
_MAX_ERRORS_KEPT = 20


@dataclass
class SyncReport:
    registry: str
    repositories_added: int = 0
    repositories_removed: int = 0
    tags_added: int = 0
    tags_updated: int = 0
    tags_removed: int = 0
    errors: list[str] = field(default_factory=list)
    aborted: bool = False

    def error(self, message: str) -> None:
        log.warning("sync of %s: %s", self.registry, message)
        if len(self.errors) < _MAX_ERRORS_KEPT:
            self.errors.append(message)


def _is_name(name: str) -> bool:
    from mirror.inbox import is_repository_name

    return is_repository_name(name)


def _sync_repository(client: RegistryClient, registry: Registry, name: str, *, delete: bool,
                     report: SyncReport) -> None:
    listed_at = timezone.now()
    names = client.tags(name)
    existing = tag_services.repository_find(registry=registry, repository_name=name)
    current = dict(Tag.objects.filter(repository=existing).values_list("name", "digest")) if existing else {}
    for tag in names:
        observed_at = timezone.now()
        digest = client.manifest_digest(name, tag)
        if digest is None or current.get(tag) == digest:
            continue
        try:
            details = client.image_details(name, digest)
        except ManifestUnknown:
            continue  # deleted while we looked
        change = tag_services.tag_sync_set(
            registry=registry, repository_name=name, tag=tag, digest=details.digest,
            media_type=details.media_type, image_id=details.image_id, size=details.size,
            platforms=details.platforms, observed_at=observed_at)
        if change.applied:
            if change.created:
                report.tags_added += 1
            else:
                report.tags_updated += 1
    if existing is None and tag_services.repository_find(registry=registry, repository_name=name):
        report.repositories_added += 1
    if delete and existing is not None:
        report.tags_removed += tag_services.tags_sync_remove(registry=registry, repository_name=name,
                                                             keep=set(names), observed_at=listed_at)


class Interrupted(Exception):
    pass


def sync_registry(*, registry: Registry, delete: bool, client: RegistryClient | None = None,
                  should_stop: Callable[[], bool] | None = None) -> SyncReport:
    """Walks the catalog and every tag; adds what is missing, and with `delete` removes what is gone.
    `should_stop` is asked between repositories (a stopping process does not finish a long walk)."""
    client = client or RegistryClient(registry)
    report = SyncReport(registry=registry.name)
    catalog_read_at = timezone.now()
    try:
        names = list(client.catalog())
        for name in names:
            if should_stop is not None and should_stop():
                raise Interrupted
            if not _is_name(name):
                report.error(f"skipped {name[:100]!r}: not a repository name")
                continue
            try:
                _sync_repository(client, registry, name, delete=delete, report=report)
            except RegistryUnavailable:
                raise
            except (RegistryError, tag_services.ImageNameRefused) as exc:
                report.error(f"{name}: {exc}")
        if delete:
            listed = set(names)
            known = Repository.objects.filter(namespace__registry=registry).select_related(
                "namespace", "namespace__registry")
            for repository in known.iterator(chunk_size=1000):
                if repository.full_name not in listed and tag_services.repository_delete(
                        registry=registry, repository_name=repository.full_name, unchanged_since=catalog_read_at):
                    report.repositories_removed += 1
    except RegistryError as exc:
        report.aborted = True
        report.error(f"{exc.__class__.__name__}: {exc}")
    except Interrupted:
        report.aborted = True
        report.error("interrupted: the process was stopping")
    Registry.objects.filter(pk=registry.pk).update(last_sync_at=timezone.now(),
                                                   last_sync_error="\n".join(report.errors)[:10000])
    log.info("sync of %s: %s", registry.name, report)
    return report


def sync_due(registry: Registry, *, interval_seconds: float) -> bool:
    last = registry.last_sync_at
    return last is None or (timezone.now() - last).total_seconds() >= interval_seconds


def run_sync(*, strategy: str | None = None, holder: str, force: bool = False,
             interval_seconds: float | None = None, should_stop: Callable[[], bool] | None = None,
             ) -> list[SyncReport]:
    """Syncs every registry that is due under `strategy` (default: the option), one process at a time per
    registry (a lease), skipping registries another process synced within the interval unless `force`."""
    from mirror.services import lease_acquire, lease_release

    strategy = strategy or option("background.sync.strategy")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown sync strategy {strategy!r}")
    interval = float(option("background.sync.interval") if interval_seconds is None else interval_seconds)
    reports = []
    for registry in Registry.objects.order_by("id"):
        if strategy == "initial" and Repository.objects.filter(namespace__registry=registry).exists():
            continue
        lease = f"sync:{registry.pk}"
        if not lease_acquire(name=lease, holder=holder, seconds=max(interval, 3600)):
            continue
        try:
            registry.refresh_from_db()
            if not force and not sync_due(registry, interval_seconds=interval):
                continue
            reports.append(sync_registry(registry=registry, delete=strategy in ("update-delete", "on-start"),
                                         should_stop=should_stop))
        finally:
            lease_release(name=lease, holder=holder)
    return reports
