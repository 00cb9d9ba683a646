"""Writes of tags and repositories from what the registry reports: its events, and the catalog sync.

Order. The registry may deliver a delete before the push it undoes is processed, and retries reorder
deliveries. Changes are therefore applied by the event's own time, never by processing order:
- a tag keeps the time of the last event applied to it (Tag.event_time); an event older than it is
  not applied (ties are broken by digest, so any processing order ends in the same state);
- a delete leaves a Tombstone (by tag and by digest) with its time; a push no newer than a tombstone
  of its tag or digest is not applied, so a late push cannot resurrect a deleted tag, while a push newer
  than the delete wins.
Event times all come from the registry's clock. What the catalog sync observes is stamped with this
service's clock, which need not agree with the registry's, so sync writes never carry an event time
(event_time NULL: any event wins over them) and never leave tombstones; they only refrain from touching a
row written after the sync looked at the registry.

All writes about one repository name take a lock on that name first (a transaction-scoped advisory lock
on PostgreSQL; SQLite's write lock, taken at BEGIN IMMEDIATE, serialises writers already), so the read,
check and write of two workers never interleave. Repository.tags_count is recounted under that lock on
every change, and pushed_at only moves forward.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, Q, Value, When
from django.dispatch import Signal

from activities.services import activity_record
from namespaces import policy
from namespaces.models import Namespace, Repository, Tag, Tombstone, Visibility
from namespaces.services import global_namespace_ensure, global_team_name, namespace_for_push
from portus.names import is_valid_component, split_repository_name
from portus.prepared import INTEGER, MOMENT, TEXT, OneRow
from registries.models import Registry
from teams.models import Team
from traffic.services import traffic_count

log = logging.getLogger(__name__)

# Sent after the transaction that made the change commits (outbound webhooks listen here).
tag_pushed = Signal()  # tag, repository, created, author
tag_deleted = Signal()  # repository, tag_name, digest, actor
repository_deleted = Signal()  # registry, repository_name, actor


class ImageNameRefused(ValueError):
    """A repository name this service cannot file (its namespace part is not a valid name)."""


@dataclass
class TagChange:
    applied: bool
    tag: Tag | None = None
    created: bool = False
    digest_changed: bool = False
    reason: str = ""


def _lock_name(registry: Registry, repository_name: str) -> None:
    """Serialises every write about one repository name until the transaction ends."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"{registry.pk}:{repository_name}".encode()).digest()[:8],
                             "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _hidden_namespace(registry: Registry, name: str) -> Namespace:
    """A namespace nobody asked for, owned by the registry's hidden global team: visible to admins only."""
    team, _ = Team.objects.get_or_create(name=global_team_name(registry), defaults={"hidden": True})
    try:
        with transaction.atomic():
            namespace = Namespace.objects.create(
                registry=registry, name=name, team=team, visibility=Visibility.PRIVATE,
                description="Created when the registry reported an image here; move it to a team.",
            )
    except IntegrityError:
        return Namespace.objects.get(registry=registry, name=name)
    activity_record(key="namespace.create", target=namespace, namespace=namespace, team=team,
                    parameters={"on_push": True})
    return namespace


def namespace_for_image(*, registry: Registry, namespace_name: str, actor=None) -> Namespace:
    """The namespace an image reported by the registry belongs to, created when missing.

    No slash → the registry's global namespace. A missing namespace is created owned by the pushing
    admin's personal team (the token endpoint's rule, namespaces.services.namespace_for_push), and in
    every other case (unknown actor, the catalog sync) owned by the registry's hidden global team,
    private: the image is then visible to admins, who can move the namespace to a team. A push is never
    left invisible (Portus issue #2191)."""
    if namespace_name == "":
        return global_namespace_ensure(registry=registry)
    found = Namespace.objects.filter(registry=registry, name=namespace_name).first()
    if found is not None:
        return found
    if not is_valid_component(namespace_name):
        raise ImageNameRefused(f"{namespace_name!r} is not a valid namespace name")
    if policy.is_admin(actor):
        try:
            created = namespace_for_push(registry=registry, name=namespace_name, user=actor)
        except Team.DoesNotExist:
            created = None
        if created is not None:
            return created
    return _hidden_namespace(registry, namespace_name)


def _repositories(registry_id):
    return Repository.objects.select_related("namespace", "namespace__registry").filter(
        namespace__registry_id=registry_id)


# The statements every registry event runs (several times each), compiled once per thread (portus/prepared.py):
# the ORM's own querysets, without building and compiling them on every event.
_GLOBAL_REPOSITORY = OneRow(lambda registry_id, name: _repositories(registry_id).filter(
    name=name, namespace__is_global=True), registry_id=INTEGER, name=TEXT)
_REPOSITORY = OneRow(lambda registry_id, namespace, name: _repositories(registry_id).filter(
    name=name, namespace__name=namespace, namespace__is_global=False), registry_id=INTEGER, namespace=TEXT, name=TEXT)
_TOMBSTONE = OneRow(lambda registry_id, repository, when, tag, digest: Tombstone.objects.filter(
    registry_id=registry_id, repository=repository, event_time__gte=when).filter(
    Q(kind=Tombstone.Kind.TAG, value=tag) | Q(kind=Tombstone.Kind.DIGEST, value=digest)).only("pk"),
    registry_id=INTEGER, repository=TEXT, when=MOMENT, tag=TEXT, digest=TEXT)
_TAG = OneRow(lambda repository_id, name: Tag.objects.filter(repository_id=repository_id, name=name),
              repository_id=INTEGER, name=TEXT)


def _staleness(*, global_name: bool):
    """The registry's row with `buried` (a later delete of the tag or digest) and `newer` (a later push of
    the tag applied already): `_buried`, then `repository_find` and a look for a later tag, in one statement."""
    def build(registry_id, repository, name, when, tag, digest, stone_tag, stone_digest, namespace=None):
        buried = Tombstone.objects.filter(registry_id=registry_id, repository=repository, event_time__gte=when).filter(
            Q(kind=Tombstone.Kind.TAG, value=stone_tag) | Q(kind=Tombstone.Kind.DIGEST, value=stone_digest))
        tags = Tag.objects.filter(repository__namespace__registry_id=registry_id, repository__name=name, name=tag,
                                  event_time__isnull=False).filter(
            Q(event_time__gt=when) | Q(event_time=when, digest__gte=digest))
        if global_name:
            tags = tags.filter(repository__namespace__is_global=True)
        else:
            tags = tags.filter(repository__namespace__name=namespace, repository__namespace__is_global=False)
        return Registry.objects.filter(pk=registry_id).annotate(buried=Exists(buried), newer=Exists(tags)).only("pk")

    kinds = {"registry_id": INTEGER, "repository": TEXT, "name": TEXT, "when": MOMENT, "tag": TEXT, "digest": TEXT,
             "stone_tag": TEXT, "stone_digest": TEXT}
    return OneRow(build, **kinds) if global_name else OneRow(build, **kinds, namespace=TEXT)


_STALE_GLOBAL, _STALE = _staleness(global_name=True), _staleness(global_name=False)


def repository_find(*, registry: Registry, repository_name: str) -> Repository | None:
    namespace_name, name = split_repository_name(repository_name)
    if namespace_name == "":
        return _GLOBAL_REPOSITORY.get(registry_id=registry.pk, name=name)
    return _REPOSITORY.get(registry_id=registry.pk, namespace=namespace_name, name=name)


def _repository_ensure(*, registry: Registry, repository_name: str, actor) -> tuple[Repository, bool]:
    found = repository_find(registry=registry, repository_name=repository_name)
    if found is not None:
        return found, False
    namespace_name, name = split_repository_name(repository_name)
    namespace = namespace_for_image(registry=registry, namespace_name=namespace_name, actor=actor)
    repository, created = Repository.objects.get_or_create(namespace=namespace, name=name)
    repository.namespace = namespace
    return repository, created


def _recount(repository: Repository) -> None:
    from images.artifacts import ordinary_tags

    # Signatures, SBOMs and attestations are shown beside their image, not counted as tags.
    count = ordinary_tags(Tag.objects.filter(repository=repository)).count()
    Repository.objects.filter(pk=repository.pk).update(tags_count=count)
    repository.tags_count = count


def _pushed_before(when: datetime) -> Q:
    """A repository whose last push is older than `when` (or that has none)."""
    return Q(pushed_at__isnull=True) | Q(pushed_at__lt=when)


def _note_pushed(repository: Repository, when: datetime) -> None:
    """The in-memory copy of what `_pushed` writes."""
    if repository.pushed_at is None or repository.pushed_at < when:
        repository.pushed_at = when


def _pushed(repository: Repository, when: datetime) -> None:
    Repository.objects.filter(pk=repository.pk).filter(_pushed_before(when)).update(pushed_at=when)
    _note_pushed(repository, when)


def _recount_and_pushed(repository: Repository, when: datetime) -> None:
    """`_recount` and `_pushed` in one statement (a new tag pushed): the count made by the database, and
    read back from it only if something asks for it (a deferred field)."""
    from images.artifacts import tags_count_expression

    Repository.objects.filter(pk=repository.pk).update(
        tags_count=tags_count_expression(),
        pushed_at=Case(When(_pushed_before(when), then=Value(when)), default=F("pushed_at")))
    repository.__dict__.pop("tags_count", None)
    _note_pushed(repository, when)


def _tombstone(registry: Registry, repository_name: str, kind: str, value: str, when: datetime) -> None:
    stone, created = Tombstone.objects.get_or_create(
        registry=registry, repository=repository_name, kind=kind, value=value[:128],
        defaults={"event_time": when})
    if not created and stone.event_time < when:
        Tombstone.objects.filter(pk=stone.pk).update(event_time=when)


def _buried(registry: Registry, repository_name: str, tag: str, digest: str, when: datetime) -> bool:
    """Was this tag or digest deleted at or after `when`?"""
    return _TOMBSTONE.get(registry_id=registry.pk, repository=repository_name, when=when, tag=tag[:128],
                          digest=digest[:128]) is not None


def push_is_stale(*, registry: Registry, repository_name: str, tag: str, digest: str,
                  event_time: datetime) -> str:
    """Why a push would not be applied ('' when it would): a later delete, or a later push of the tag.
    Lets the caller skip reading the registry; tag_apply_push decides again under the lock. One statement."""
    namespace_name, name = split_repository_name(repository_name)
    values = {"registry_id": registry.pk, "repository": repository_name, "name": name, "when": event_time,
              "tag": tag, "digest": digest, "stone_tag": tag[:128], "stone_digest": digest[:128]}
    found = _STALE_GLOBAL.get(**values) if namespace_name == "" else _STALE.get(**values, namespace=namespace_name)
    if found is not None and found.buried:
        return "deleted by a later event"
    return "a later push was applied already" if found is not None and found.newer else ""


def _on_commit(signal: Signal, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=Tag, **kwargs))


def _write_tag(*, repository: Repository, existing: Tag | None, name: str, digest: str, media_type: str,
               image_id: str, size: int, platforms: list, author, pushed_at: datetime,
               event_time: datetime | None) -> Tag:
    tag = existing or Tag(repository=repository, name=name)
    tag.digest, tag.media_type, tag.image_id = digest, media_type[:255], image_id[:160]
    tag.size, tag.platforms = max(int(size or 0), 0), list(platforms or [])
    tag.pushed_at, tag.event_time = pushed_at, event_time
    if author is not None or existing is None:
        tag.author = author
    tag.save()
    return tag


@transaction.atomic
def tag_apply_push(
    *, registry: Registry, repository_name: str, tag: str, digest: str, media_type: str, image_id: str,
    size: int, platforms: list[dict[str, Any]], author, event_time: datetime,
) -> TagChange:
    """Applies a manifest push reported by the registry: repository and tag created or updated, unless a
    later event about this tag or digest was applied already."""
    _lock_name(registry, repository_name)
    if _buried(registry, repository_name, tag, digest, event_time):
        return TagChange(applied=False, reason="deleted by a later event")
    repository = repository_find(registry=registry, repository_name=repository_name)
    existing = _TAG.get(repository_id=repository.pk, name=tag) if repository else None
    if existing is not None and existing.event_time is not None and (
        (existing.event_time, existing.digest) >= (event_time, digest)
    ):
        same = (existing.event_time, existing.digest) == (event_time, digest)
        return TagChange(applied=False, tag=existing,
                         reason="already applied" if same else "a later push was applied already")
    if repository is None:
        repository, _ = _repository_ensure(registry=registry, repository_name=repository_name, actor=author)
    digest_changed = existing is None or existing.digest != digest
    written = _write_tag(repository=repository, existing=existing, name=tag, digest=digest,
                         media_type=media_type, image_id=image_id, size=size, platforms=platforms,
                         author=author, pushed_at=event_time, event_time=event_time)
    if existing is None:
        _recount_and_pushed(repository, event_time)
    else:
        _pushed(repository, event_time)
    if digest_changed:
        activity_record(key="repository.push", owner=author, target=repository, namespace=repository.namespace,
                        parameters={"tag": tag, "digest": digest}, at=event_time)
    _on_commit(tag_pushed, tag=written, repository=repository, created=existing is None, author=author)
    return TagChange(applied=True, tag=written, created=existing is None, digest_changed=digest_changed)


def _remove_tags(repository: Repository, tags: list[Tag], *, actor, when: datetime | None,
                 sync: bool = False, extra: dict[str, Any] | None = None) -> int:
    if not tags:
        return 0
    Tag.objects.filter(pk__in=[t.pk for t in tags]).delete()
    _recount(repository)
    for removed in tags:
        parameters = {"repository": repository.full_name, "tag": removed.name, "digest": removed.digest}
        if sync:
            parameters["sync"] = True
        parameters.update(extra or {})
        activity_record(key="tag.delete", owner=actor, target_type="tag",
                        target_name=f"{repository.full_name}:{removed.name}", namespace=repository.namespace,
                        parameters=parameters, at=when)
        _on_commit(tag_deleted, repository=repository, tag_name=removed.name, digest=removed.digest, actor=actor)
    return len(tags)


@transaction.atomic
def tag_apply_delete(
    *, registry: Registry, repository_name: str, tag: str | None = None, digest: str | None = None,
    event_time: datetime, actor=None,
) -> int:
    """Applies a delete reported by the registry (by tag, or by digest: every tag on it in this repository)
    and remembers it, so an older push processed later does not bring the tag back. Tags written by a
    newer event stay. Returns how many tags were removed."""
    if not tag and not digest:
        raise ValueError("a delete names a tag or a digest")
    _lock_name(registry, repository_name)
    if tag:
        _tombstone(registry, repository_name, Tombstone.Kind.TAG, tag, event_time)
    if digest:
        _tombstone(registry, repository_name, Tombstone.Kind.DIGEST, digest, event_time)
    repository = repository_find(registry=registry, repository_name=repository_name)
    if repository is None:
        return 0
    matching = Q(name=tag) if tag else Q(digest=digest)
    older = Q(event_time__isnull=True) | Q(event_time__lte=event_time)
    doomed = list(Tag.objects.filter(repository=repository).filter(matching).filter(older))
    return _remove_tags(repository, doomed, actor=actor, when=event_time)


def tag_record_pull(*, registry: Registry, repository_name: str, tag: str, event_time: datetime) -> bool:
    """Counts one pull of a tag (pull_count, pulled_at); False when the tag is not known here."""
    repository = repository_find(registry=registry, repository_name=repository_name)
    if repository is None:
        return False
    later = Q(pulled_at__isnull=True) | Q(pulled_at__lt=event_time)
    counted = bool(Tag.objects.filter(repository=repository, name=tag).update(
        pull_count=F("pull_count") + 1,
        pulled_at=Case(When(later, then=Value(event_time)), default=F("pulled_at")),
    ))
    if counted:
        traffic_count(pulls=[(repository.pk, event_time)])  # the repository's chart, per day
    return counted


@transaction.atomic
def repository_delete(
    *, registry: Registry, repository_name: str, actor=None, event_time: datetime | None = None,
    unchanged_since: datetime | None = None, newer_event: Callable[[], bool] | None = None,
) -> bool:
    """Forgets a repository the registry deleted (event_time: an event's time; its tags get tombstones)
    or no longer lists (unchanged_since: when the sync read the catalog; a repository written after
    that, or one `newer_event` says the registry reported on since, is left alone). Returns whether it
    was removed."""
    _lock_name(registry, repository_name)
    repository = repository_find(registry=registry, repository_name=repository_name)
    if repository is None or (newer_event is not None and newer_event()):
        return False
    tags = list(repository.tags.all())
    if unchanged_since is not None and (
        repository.created_at > unchanged_since or any(t.updated_at > unchanged_since for t in tags)
    ):
        return False
    if event_time is not None:
        for tag in tags:
            _tombstone(registry, repository_name, Tombstone.Kind.TAG, tag.name, event_time)
        newer = [t for t in tags if t.event_time is not None and t.event_time > event_time]
        if newer:
            # Pushed again after the delete: keep the repository with only what came after.
            _remove_tags(repository, [t for t in tags if t not in newer], actor=actor, when=event_time)
            return False
    parameters: dict[str, Any] = {"repository": repository.full_name, "tags": len(tags)}
    if unchanged_since is not None:
        parameters["sync"] = True
    activity_record(key="repository.delete", owner=actor, target_type="repository",
                    target_name=repository.full_name, namespace=repository.namespace,
                    parameters=parameters, at=event_time)
    repository.delete()
    _on_commit(repository_deleted, registry=registry, repository_name=repository_name, actor=actor)
    return True


# --- the catalog sync ----------------------------------------------------------------------------


@transaction.atomic
def tag_sync_set(
    *, registry: Registry, repository_name: str, tag: str, digest: str, media_type: str, image_id: str,
    size: int, platforms: list[dict[str, Any]], observed_at: datetime,
    newer_event: Callable[[], bool] | None = None,
) -> TagChange:
    """Makes a tag point where the registry said it did at `observed_at`, unless the row was written
    since or `newer_event` (asked under the lock) says the registry reported on it since: an event
    processed meanwhile knows better, and a delete processed meanwhile leaves no row to compare with."""
    _lock_name(registry, repository_name)
    if newer_event is not None and newer_event():
        return TagChange(applied=False, reason="the registry reported an event since")
    repository, _ = _repository_ensure(registry=registry, repository_name=repository_name, actor=None)
    existing = Tag.objects.filter(repository=repository, name=tag).first()
    if existing is not None and (existing.digest == digest or existing.updated_at > observed_at):
        return TagChange(applied=False, tag=existing, reason="unchanged or written since")
    written = _write_tag(repository=repository, existing=existing, name=tag, digest=digest,
                         media_type=media_type, image_id=image_id, size=size, platforms=platforms, author=None,
                         pushed_at=observed_at, event_time=None)
    if existing is None:
        _recount(repository)
    _pushed(repository, observed_at)
    activity_record(key="repository.push", target=repository, namespace=repository.namespace,
                    parameters={"tag": tag, "digest": digest, "sync": True})
    _on_commit(tag_pushed, tag=written, repository=repository, created=existing is None, author=None)
    return TagChange(applied=True, tag=written, created=existing is None, digest_changed=True)


@transaction.atomic
def tags_sync_remove(*, registry: Registry, repository_name: str, names: set[str], observed_at: datetime,
                     newer_event: Callable[[], bool] | None = None) -> list[str]:
    """Removes the named tags, which the registry no longer listed at `observed_at` (rows written since
    stay, and all do when `newer_event` says the registry reported on the repository since). Returns
    the names removed."""
    _lock_name(registry, repository_name)
    repository = repository_find(registry=registry, repository_name=repository_name)
    if repository is None or not names or (newer_event is not None and newer_event()):
        return []
    doomed = [t for t in repository.tags.filter(name__in=names) if t.updated_at <= observed_at]
    _remove_tags(repository, doomed, actor=None, when=None, sync=True)
    return sorted(t.name for t in doomed)


# --- deletes this service asks the registry for ------------------------------------------------


def image_delete(*, repository: Repository, digest: str, by, parameters: dict[str, Any] | None = None) -> int:
    """Deletes a manifest from the registry (as the internal account) and forgets its tags here at once;
    the registry's own delete events follow and find nothing left to do. The caller has asked the policy
    (policy.can_delete). Raises registries.client errors (DeleteNotAllowed when the registry has deletes
    off); a manifest the registry no longer has is simply forgotten. `parameters` go into each tag.delete
    activity (a retention run names itself). Returns how many tags went."""
    from registries.client import ManifestUnknown, RegistryClient

    registry = repository.namespace.registry
    try:
        RegistryClient(registry).delete_manifest(repository.full_name, digest)
    except ManifestUnknown:
        pass
    with transaction.atomic():
        _lock_name(registry, repository.full_name)
        doomed = list(Tag.objects.filter(repository=repository, digest=digest))
        # No tombstone: this service's clock is not the registry's (see the module's docstring).
        return _remove_tags(repository, doomed, actor=by, when=None, extra=parameters)
