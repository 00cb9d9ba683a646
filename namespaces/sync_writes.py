"""The catalog sync's writes, many repositories in one transaction: what `tag_sync_set` does per tag.

A first sync of a big registry writes thousands of repositories, tags and activities; one transaction
and a dozen statements per tag made the writing the larger half of its time. Here one transaction
covers a batch of repositories, with the same rules as `tag_sync_set` (namespaces/tags.py):
- every repository name of the batch is locked first, all before anything is written (so a writer
  that holds one of those locks never waits on a row this transaction wrote: no deadlock);
- a repository the registry sent an event about after the sync looked at a tag is not written
  (`latest_events`, asked under the locks), nor is a tag row written since, nor one already pointing
  at the digest;
- a write carries no event time and leaves no tombstone; every applied write records its activity
  (`sync: true`), and once the transaction commits the batch's tags are announced together
  (`tags_pushed`, the many-tags sibling of `tag_pushed`): image details queue them all in a few
  statements, in one transaction (one tag at a time, a savepoint each, only should that fail). A commit
  and a few statements per batch instead of a dozen statements per tag, which on SQLite were most of a
  first sync's writing.
Should the batch meet a conflict that the locks cannot exclude (a row inserted outside them), the caller
writes the batch again tag by tag.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from activities.services import activities_record_many, activity_build
from namespaces.models import Namespace, Repository, Tag
from namespaces.tags import ImageNameRefused, TagChange, namespace_for_image
from portus.names import split_repository_name
from registries.models import Registry

log = logging.getLogger(__name__)

# The tags a sync batch wrote, once it committed: items=[(tag, repository, created)], author=None. What
# hears `tag_pushed` for one tag and must hear the sync's tags too connects here (images/hooks.py).
tags_pushed = Signal()


class SyncWrite(Protocol):
    """A tag as the registry showed it (mirror/sync_read.py TagWrite)."""

    tag: str
    digest: str
    media_type: str
    image_id: str
    size: int
    platforms: list[dict[str, Any]]
    observed_at: datetime


# (names, since) → when the registry last reported on each of those names after `since`
LatestEvents = Callable[[list[str], datetime], dict[str, datetime]]


def _lock_names(registry: Registry, names: list[str]) -> None:
    """namespaces.tags._lock_name for every name, in one statement, in a fixed order."""
    if connection.vendor != "postgresql" or not names:
        return  # SQLite: the transaction's write lock (BEGIN IMMEDIATE) serialises writers already
    keys = sorted({int.from_bytes(hashlib.sha256(f"{registry.pk}:{name}".encode()).digest()[:8], "big",
                                  signed=True) for name in names})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k", [keys])


def _repositories(registry: Registry, names: list[str]) -> dict[str, Repository]:
    """The repositories known here among `names`, by full name (two queries however many)."""
    namespaces = {n.name: n for n in Namespace.objects.filter(registry=registry, is_global=False).filter(
        name__in={split_repository_name(name)[0] for name in names} - {""})}
    if any(split_repository_name(name)[0] == "" for name in names):
        glob = Namespace.objects.filter(registry=registry, is_global=True).first()
        if glob is not None:
            namespaces[""] = glob
    wanted = {(namespaces[ns].pk, short) for ns, short in map(split_repository_name, names) if ns in namespaces}
    by_namespace = {n.pk: n for n in namespaces.values()}
    found: dict[str, Repository] = {}
    rows = Repository.objects.filter(namespace_id__in=by_namespace, name__in={short for _, short in wanted})
    for repository in rows:
        if (repository.namespace_id, repository.name) in wanted:
            repository.namespace = by_namespace[repository.namespace_id]
            found[repository.full_name] = repository
    return found


@transaction.atomic
def tags_sync_set_many(*, registry: Registry, writes: dict[str, list[SyncWrite]], latest_events: LatestEvents,
                       ) -> list[tuple[str, SyncWrite, TagChange | ImageNameRefused]]:
    """Applies the sync's writes for a batch of repositories (full name → its writes). Returns, per write,
    its TagChange, or the ImageNameRefused that stopped its repository."""
    names = sorted(writes)
    _lock_names(registry, names)
    latest = latest_events(names, min(w.observed_at for name in names for w in writes[name]))
    found = _repositories(registry, names)
    now = timezone.now()
    results: list[tuple[str, SyncWrite, TagChange | ImageNameRefused]] = []
    wanted: dict[str, list[SyncWrite]] = {}
    for name in names:
        for write in writes[name]:
            if name in latest and latest[name] > write.observed_at:
                results.append((name, write, TagChange(applied=False,
                                                       reason="the registry reported an event since")))
            else:
                wanted.setdefault(name, []).append(write)
    namespaces: dict[str, Namespace] = {}
    new_repositories: list[Repository] = []
    for name in wanted:
        if name in found:
            continue
        namespace_name, short = split_repository_name(name)
        try:
            if namespace_name not in namespaces:
                namespaces[namespace_name] = namespace_for_image(registry=registry, namespace_name=namespace_name)
        except ImageNameRefused as exc:
            results += [(name, write, exc) for write in wanted[name]]
            continue
        repository = Repository(namespace=namespaces[namespace_name], name=short)
        new_repositories.append(repository)
        found[name] = repository
    for repository in new_repositories:  # all its writes apply (nothing is known of it): pushed_at at once
        repository.pushed_at = max(w.observed_at for w in wanted[repository.full_name])
    Repository.objects.bulk_create(new_repositories, batch_size=500)
    targets = {name: found[name] for name in wanted if name in found}
    existing = {(t.repository_id, t.name): t for t in Tag.objects.filter(
        repository__in=[r.pk for r in targets.values()],
        name__in={w.tag for name in targets for w in wanted[name]})}
    created: list[Tag] = []
    changed: list[Tag] = []
    activities = []
    applied: list[tuple[Tag, Repository, bool]] = []
    recount: set[int] = set()
    pushed: dict[int, datetime] = {}
    for name, repository in targets.items():
        for write in wanted[name]:
            old = existing.get((repository.pk, write.tag))
            if old is not None and (old.digest == write.digest or old.updated_at > write.observed_at):
                results.append((name, write, TagChange(applied=False, tag=old, reason="unchanged or written since")))
                continue
            tag = old or Tag(repository=repository, name=write.tag, author=None, created_at=now)
            tag.digest, tag.media_type, tag.image_id = write.digest, write.media_type[:255], write.image_id[:160]
            tag.size, tag.platforms = max(int(write.size or 0), 0), list(write.platforms or [])
            tag.pushed_at, tag.event_time, tag.updated_at = write.observed_at, None, now
            (changed if old is not None else created).append(tag)
            if old is None:
                recount.add(repository.pk)
            if repository.pushed_at is None or repository.pushed_at < write.observed_at:
                repository.pushed_at = write.observed_at
                pushed[repository.pk] = write.observed_at
            activities.append(activity_build(key="repository.push", target=repository,
                                             namespace=repository.namespace, at=now,
                                             parameters={"tag": write.tag, "digest": write.digest, "sync": True}))
            applied.append((tag, repository, old is None))
            results.append((name, write, TagChange(applied=True, tag=tag, created=old is None, digest_changed=True)))
    Tag.objects.bulk_create(created, batch_size=500)
    Tag.objects.bulk_update(changed, ["digest", "media_type", "image_id", "size", "platforms", "pushed_at",
                                      "event_time", "updated_at"], batch_size=500)
    if recount:
        from images.artifacts import recount_tags

        recount_tags(recount)
    Repository.objects.bulk_update([r for r in targets.values() if r.pk in pushed], ["pushed_at"], batch_size=500)
    activities_record_many(activities)
    if applied:
        transaction.on_commit(lambda: _announce(applied))
    return results


def _announce(applied: list[tuple[Tag, Repository, bool]]) -> None:
    """`tags_pushed` for the tags the batch wrote, after its commit, in one transaction of their own (a
    receiver keeps a failure to itself: images/hooks.py; what one missed, the images sweep finds later)."""
    try:
        with transaction.atomic():
            tags_pushed.send(sender=Tag, items=applied, author=None)
    except Exception:  # noqa: BLE001 - the batch is committed; the announcements are best effort
        log.exception("sync: announcing a batch of %d tags failed", len(applied))
