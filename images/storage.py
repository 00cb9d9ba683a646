"""Bytes stored, counting each blob once: per repository, namespace and registry, and how much of a
namespace's bytes other namespaces share (the honest number: a layer two namespaces use is stored once,
so it is not "theirs" twice).

A repository holds the manifests linked to it (images/models.py ManifestLink); what it stores is the set
of their blobs — each manifest's own bytes, its config and layers — by digest. Counting is over sets of
digests, so a layer in ten tags, ten repositories or ten namespaces is counted once at each level. What
is counted is what the registry keeps for the manifests it serves; blobs left behind by deletes stay on
disk until the registry's garbage collection and are not counted.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from images.models import ManifestLink, StorageSnapshot
from namespaces.models import Namespace
from registries.models import Registry


@dataclass
class Usage:
    bytes: int = 0
    blobs: int = 0
    shared_bytes: int = 0  # of these bytes, those held by another namespace too
    shared_blobs: int = 0


@dataclass
class RegistryStorage:
    total: Usage = field(default_factory=Usage)
    namespaces: dict[int, Usage] = field(default_factory=dict)
    pending: int = 0  # manifests not read yet: their blobs are not counted


def _rows(scope: Q) -> Iterable[tuple[int, int, str, int]]:
    """(repository id, namespace id, digest, size) of every blob of the manifests linked in `scope`."""
    links = ManifestLink.objects.filter(scope)
    yield from links.values_list("repository_id", "repository__namespace_id", "manifest__digest",
                                 "manifest__body_size").iterator(chunk_size=2000)
    yield from (links.filter(manifest__blobs__isnull=False)
                .values_list("repository_id", "repository__namespace_id", "manifest__blobs__digest",
                             "manifest__blobs__size").iterator(chunk_size=2000))


def _usage(sizes: dict[str, int], digests: set[str], shared: set[str]) -> Usage:
    in_shared = digests & shared
    return Usage(bytes=sum(sizes[d] for d in digests), blobs=len(digests),
                 shared_bytes=sum(sizes[d] for d in in_shared), shared_blobs=len(in_shared))


def registry_storage(registry: Registry) -> RegistryStorage:
    """The whole registry at once (the admin page, the daily snapshot)."""
    sizes: dict[str, int] = {}
    by_namespace: dict[int, set[str]] = defaultdict(set)
    owners: dict[str, set[int]] = defaultdict(set)
    for _repository, namespace, digest, size in _rows(Q(manifest__registry=registry)):
        sizes[digest] = max(sizes.get(digest, 0), int(size or 0))
        by_namespace[namespace].add(digest)
        owners[digest].add(namespace)
    shared = {d for d, namespaces in owners.items() if len(namespaces) > 1}
    result = RegistryStorage(total=_usage(sizes, set(sizes), set()))
    result.total.shared_bytes = sum(sizes[d] for d in shared)
    result.total.shared_blobs = len(shared)
    result.namespaces = {ns: _usage(sizes, digests, shared) for ns, digests in by_namespace.items()}
    from images.models import Manifest

    result.pending = Manifest.objects.filter(registry=registry, status=Manifest.Status.PENDING).count()
    return result


def _shared_elsewhere(registry_id: int, namespace_id: int, scope: Q) -> set[str]:
    """Which digests of `scope` another namespace of the registry holds too: two queries, whatever the size
    (the scope's digests stay in the database, as subqueries)."""
    in_scope = ManifestLink.objects.filter(scope)
    manifests = in_scope.values("manifest__digest")
    blobs = in_scope.filter(manifest__blobs__isnull=False).values("manifest__blobs__digest")
    other = (ManifestLink.objects.filter(manifest__registry_id=registry_id)
             .exclude(repository__namespace_id=namespace_id))
    found = set(other.filter(Q(manifest__digest__in=manifests) | Q(manifest__digest__in=blobs))
                .values_list("manifest__digest", flat=True).distinct())
    found.update(other.filter(Q(manifest__blobs__digest__in=manifests) | Q(manifest__blobs__digest__in=blobs))
                 .values_list("manifest__blobs__digest", flat=True).distinct())
    return found


def scoped_usage(*, namespace: Namespace, repository_id: int | None = None) -> Usage:
    """A namespace's (or one of its repositories') bytes, and how much of them other namespaces share."""
    scope = Q(repository__namespace=namespace)
    if repository_id is not None:
        scope &= Q(repository_id=repository_id)
    sizes: dict[str, int] = {}
    for _repository, _namespace, digest, size in _rows(scope):
        sizes[digest] = max(sizes.get(digest, 0), int(size or 0))
    shared = _shared_elsewhere(namespace.registry_id, namespace.pk, scope) if sizes else set()
    return _usage(sizes, set(sizes), shared)


# --- daily snapshots -----------------------------------------------------------------------------------

_last_snapshot_day: dt.date | None = None


def snapshot(registry: Registry, day: dt.date) -> int:
    """Writes the day's rows for one registry (once: a second call that day changes nothing)."""
    usage = registry_storage(registry)
    rows = [StorageSnapshot(day=day, registry=registry, namespace=None, bytes=usage.total.bytes,
                            shared_bytes=usage.total.shared_bytes, blobs=usage.total.blobs)]
    existing = set(Namespace.objects.filter(pk__in=list(usage.namespaces)).values_list("pk", flat=True))
    rows += [StorageSnapshot(day=day, registry=registry, namespace_id=ns, bytes=u.bytes, shared_bytes=u.shared_bytes,
                             blobs=u.blobs) for ns, u in usage.namespaces.items() if ns in existing]
    StorageSnapshot.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def snapshot_if_due(now: dt.datetime | None = None) -> int:
    """Today's snapshot of every registry that has none yet; checked at most once per day per process
    after it is written."""
    global _last_snapshot_day
    today = timezone.localdate(now or timezone.now())
    if _last_snapshot_day == today:
        return 0
    done = StorageSnapshot.objects.filter(day=today, namespace__isnull=True).values("registry_id")
    written = 0
    for registry in Registry.objects.exclude(pk__in=done):
        written += snapshot(registry, today)
    _last_snapshot_day = today
    return written


def history(registry: Registry, *, days: int = 90) -> list[StorageSnapshot]:
    since = timezone.localdate() - dt.timedelta(days=days)
    return list(StorageSnapshot.objects.filter(registry=registry, namespace__isnull=True, day__gte=since)
                .order_by("day"))
