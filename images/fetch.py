"""The background's reading of image details: a queue of manifests (registry + digest), each read once.

Queue. A Manifest row is the work item. It is made `pending` when a tag is pushed or synced (the
`tag_pushed` signal), when a manifest is pushed by digest (mirror/processing.py), and by a sweep that
walks every tag, a bounded range of ids per round, and queues any digest a repository holds with no
details yet — so nothing is lost when a process dies between a push and its details, or a hook is
missed. Rows are claimed with a lease (`SELECT … FOR UPDATE SKIP LOCKED` plus a conditional UPDATE that
is the claim itself on SQLite), read outside any transaction, and written back only while the lease is
ours. A failure is retried with backoff; after MAX_ATTEMPTS, or at once for what no retry can fix (a
manifest the registry no longer has, or one too large), the row is `failed` with the reason.

Reading. As the internal account, with the registry client (registries/client.py): the manifest by
digest (verified), for an index each platform's manifest (at most MAX_PLATFORMS), the image config blob
(at most MAX_CONFIG_BYTES, verified), and for a cosign signature its simple-signing payload layers.
"""

from __future__ import annotations

import base64
import logging
import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from images import parse
from images.models import Blob, Kind, Manifest, ManifestLink
from namespaces.models import Repository, Tag
from registries.client import (
    ManifestUnknown,
    RegistryClient,
    RegistryError,
    parse_json,
    read_bounded,
    repository_scope,
    verify_digest,
)
from registries.models import Registry

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 6 * 3600
SWEEP_IDS_PER_ROUND = 2000
SWEEP_PAUSE_SECONDS = 60.0


class BlobUnknown(ManifestUnknown):
    """404 on a blob the manifest names."""


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)))


# --- queueing -----------------------------------------------------------------------------------------


def link(manifest: Manifest, repository: Repository) -> None:
    """Records that the repository holds the manifest (and, for an index read already, its platforms)."""
    ManifestLink.objects.bulk_create([ManifestLink(manifest=manifest, repository=repository)], ignore_conflicts=True)
    if manifest.status == Manifest.Status.DONE and manifest.platforms:
        children = Manifest.objects.filter(registry_id=manifest.registry_id,
                                           digest__in=[p["digest"] for p in manifest.platforms])
        ManifestLink.objects.bulk_create([ManifestLink(manifest=c, repository=repository) for c in children],
                                         ignore_conflicts=True)


def enqueue(*, registry: Registry, digest: str, repository: Repository | None = None,
            repository_name: str = "", subject: str = "") -> Manifest | None:
    """Queues a manifest for reading (once: a manifest read already is only linked). `subject`: the
    digest a cosign tag's name says it refers to."""
    if not parse.digest_of(digest):
        return None
    name = repository.full_name if repository is not None else repository_name
    try:
        manifest, _ = Manifest.objects.get_or_create(
            registry=registry, digest=digest, defaults={"seen_in": name[:512], "subject_digest": subject})
    except IntegrityError:
        manifest = Manifest.objects.get(registry=registry, digest=digest)
    if subject and not manifest.subject_digest:
        Manifest.objects.filter(pk=manifest.pk, subject_digest="").update(subject_digest=subject)
        manifest.subject_digest = subject
    if repository is not None:
        link(manifest, repository)
    return manifest


def link_orphans(repository: Repository) -> int:
    """Links the manifests pushed by digest to this repository's name before the repository existed here."""
    orphans = list(Manifest.objects.filter(registry_id=repository.namespace.registry_id,
                                           seen_in=repository.full_name[:512])
                   .exclude(Exists(ManifestLink.objects.filter(manifest=OuterRef("pk"))))[:1000])
    for manifest in orphans:
        link(manifest, repository)
    return len(orphans)


class Sweep:
    """Walks every tag by id, SWEEP_IDS_PER_ROUND ids per round, queueing digests a repository holds
    without details; pauses SWEEP_PAUSE_SECONDS after each full pass. One per process."""

    def __init__(self) -> None:
        self.cursor = 0
        self.resume_at = 0.0

    def step(self, now: float) -> int:
        if now < self.resume_at:
            return 0
        # The window starts at the next tag there is: ids deleted long ago (a gap of millions after churn)
        # cost no rounds.
        first = Tag.objects.filter(id__gt=self.cursor).order_by("id").values_list("id", flat=True).first()
        if first is None:
            self.cursor, self.resume_at = 0, now + SWEEP_PAUSE_SECONDS
            return 0
        upper = first - 1 + SWEEP_IDS_PER_ROUND
        known = ManifestLink.objects.filter(repository_id=OuterRef("repository_id"),
                                            manifest__digest=OuterRef("digest"),
                                            manifest__registry_id=OuterRef("repository__namespace__registry_id"))
        rows = list(Tag.objects.filter(id__gt=self.cursor, id__lte=upper).exclude(Exists(known))
                    .select_related("repository__namespace__registry").order_by("id")[:SWEEP_IDS_PER_ROUND])
        for tag in rows:
            queue_tag(tag)
        if not Tag.objects.filter(id__gt=upper).exists():
            self.cursor, self.resume_at = 0, now + SWEEP_PAUSE_SECONDS
        else:
            self.cursor = upper
        return len(rows)


class EventSweep:
    """Walks the registry's manifest pushes by digest (the inbox notes them without processing: no tag to
    apply), SWEEP_IDS_PER_ROUND event ids per round, and queues those not known here yet — platforms of an
    index, OCI 1.1 referrers pushed by digest. Pauses after reaching the newest event."""

    def __init__(self) -> None:
        self.cursor = 0
        self.resume_at = 0.0

    def step(self, now: float) -> int:
        from mirror.inbox import MANIFEST_MEDIA_TYPES
        from mirror.models import Event

        if now < self.resume_at:
            return 0
        upper = self.cursor + SWEEP_IDS_PER_ROUND
        known = Manifest.objects.filter(registry_id=OuterRef("registry_id"), digest=OuterRef("digest"))
        rows = list(Event.objects.filter(id__gt=self.cursor, id__lte=upper, action="push", tag="",
                                         media_type__in=MANIFEST_MEDIA_TYPES, registry__isnull=False)
                    .exclude(Exists(known)).select_related("registry").order_by("id"))
        from namespaces.tags import repository_find

        for event in rows:
            repository = repository_find(registry=event.registry, repository_name=event.repository)
            enqueue(registry=event.registry, digest=event.digest, repository=repository,
                    repository_name=event.repository)
        if not Event.objects.filter(id__gt=upper).exists():
            # New events come at the end: look again soon, from a little before the newest (an id taken by a
            # transaction that commits later appears behind it; what is known already costs nothing).
            self.resume_at = now + 2.0
            newest = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
            self.cursor = max(self.cursor, newest - 200, 0)
        else:
            self.cursor = upper
        return len(rows)


def queue_tag(tag: Tag) -> Manifest | None:
    repository = tag.repository
    hinted = parse.cosign_tag(tag.name)
    subject = hinted[0] if hinted is not None and hinted[1] != "referrers" else ""
    return enqueue(registry=repository.namespace.registry, digest=tag.digest, repository=repository, subject=subject)


# --- claiming -----------------------------------------------------------------------------------------


def _claimable(now: datetime) -> Q:
    return Q(status=Manifest.Status.PENDING, next_attempt_at__lte=now) & (
        Q(lease_until__isnull=True) | Q(lease_until__lt=now))


def claim(*, limit: int, now: datetime | None = None) -> tuple[str, list[Manifest]]:
    now = now or timezone.now()
    token = secrets.token_hex(16)
    with transaction.atomic():
        ids = list(Manifest.objects.select_for_update(skip_locked=True).filter(_claimable(now))
                   .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
        if not ids:
            return token, []  # nothing due: the background's every round
        Manifest.objects.filter(pk__in=ids).filter(_claimable(now)).update(
            claim_token=token, lease_until=now + LEASE, attempts=F("attempts") + 1)
    rows = list(Manifest.objects.select_related("registry").filter(claim_token=token, status=Manifest.Status.PENDING,
                                                                    lease_until__gt=now))
    return token, rows


def _ours(manifest: Manifest, token: str) -> Q:
    return Q(pk=manifest.pk, claim_token=token, status=Manifest.Status.PENDING)


def _fail(manifest: Manifest, token: str, error: str, *, retry: bool, now: datetime) -> None:
    attempts = Manifest.objects.filter(pk=manifest.pk).values_list("attempts", flat=True).first() or 1
    if retry and attempts < MAX_ATTEMPTS:
        Manifest.objects.filter(_ours(manifest, token)).update(
            last_error=error[:2000], lease_until=None, next_attempt_at=now + backoff(attempts))
    else:
        log.warning("image details of %s failed for good: %s", manifest.digest, error[:300])
        Manifest.objects.filter(_ours(manifest, token)).update(
            status=Manifest.Status.FAILED, last_error=error[:2000], lease_until=None, fetched_at=now)


# --- reading ------------------------------------------------------------------------------------------


def read_blob(client: RegistryClient, repository: str, digest: str, limit: int) -> bytes:
    """A blob's bytes (at most `limit`, verified against its digest)."""
    response = client.request("GET", f"/v2/{repository}/blobs/{digest}", scope=repository_scope(repository, "pull"),
                              stream=True)
    if response.status_code == 404:
        response.close()
        raise BlobUnknown(f"{repository}: blob {digest} is not in the registry")
    if response.status_code != 200:
        response.close()
        raise RegistryError(f"{repository}: blob {digest}: the registry answered {response.status_code}")
    body = read_bounded(response, limit, f"{repository}: blob {digest}")
    verify_digest(digest, body)
    return body


def _where(manifest: Manifest) -> str:
    """The repository to read it from: one that holds it, else where it was seen."""
    linked = (ManifestLink.objects.filter(manifest=manifest).select_related("repository__namespace")
              .order_by("id").first())
    return linked.repository.full_name if linked is not None else manifest.seen_in


def _tag_hint(manifest: Manifest) -> str:
    """A cosign tag on this digest in a repository holding it ('' when none): it says what it is."""
    repositories = ManifestLink.objects.filter(manifest=manifest).values("repository_id")
    return (Tag.objects.filter(repository_id__in=repositories, digest=manifest.digest, name__startswith="sha256-")
            .order_by("name").values_list("name", flat=True).first() or "")


class Reading:
    """What one manifest's read produced, to be written back in one transaction."""

    def __init__(self, digest: str) -> None:
        self.digest = digest
        self.fields: dict = {}
        self.blobs: list[Blob] = []


def read_image(client: RegistryClient, repository: str, digest: str, *, tag_hint: str = "",
               allow_index: bool = True) -> tuple[Reading, list[Reading]]:
    """Reads one manifest (and, for an index, each platform's): (its reading, its children's readings)."""
    manifest = client.get_manifest(repository, digest)
    parsed = parse.parse_manifest(manifest.data, manifest.media_type, tag_hint=tag_hint)
    reading = Reading(manifest.digest)
    fields = reading.fields
    fields.update(kind=parsed.kind, media_type=parsed.media_type, artifact_type=parsed.artifact_type,
                  body_size=len(manifest.body), annotations=parsed.annotations, truncated=parsed.truncated,
                  platforms=[], config={}, signatures=[])
    if parsed.subject_digest:
        fields["subject_digest"] = parsed.subject_digest
    children: list[Reading] = []
    if parsed.is_index:
        total = 0
        for platform in parsed.platforms:
            if not allow_index:
                break
            child, _ = read_image(client, repository, platform["digest"], allow_index=False)
            children.append(child)
            platform["size"] = child.fields.get("total_size", 0)
            if not platform["attestation"]:
                total += platform["size"]
        fields["platforms"], fields["total_size"] = parsed.platforms, total
        return reading, children
    made_by = [""] * len(parsed.layers)
    if parsed.config_digest:
        reading.blobs.append(Blob(position=0, role=Blob.Role.CONFIG, digest=parsed.config_digest,
                                  size=parsed.config_size, media_type=parsed.config_media_type))
        readable = parsed.config_media_type in parse.IMAGE_CONFIG_TYPES or not parsed.config_media_type
        if readable and parsed.kind == Kind.IMAGE:
            if parsed.config_size > parse.MAX_CONFIG_BYTES:
                parsed.truncated.append("the image config is too large to read")
            else:
                body = read_blob(client, repository, parsed.config_digest, parse.MAX_CONFIG_BYTES)
                config = parse_json(body, f"{repository}: config {parsed.config_digest}")
                fields["config"], made_by = parse.parse_config(config, parsed.layers, parsed.truncated)
    for position, (layer, line) in enumerate(zip(parsed.layers, made_by, strict=True), start=1):
        reading.blobs.append(Blob(position=position, role=Blob.Role.LAYER, digest=layer.digest, size=layer.size,
                                  media_type=layer.media_type, created_by=line))
    if parsed.kind == Kind.SIGNATURE:
        for layer in parse.signature_layers(parsed.layers):
            payload = read_blob(client, repository, layer.digest, parse.MAX_SIGNATURE_PAYLOAD)
            fields["signatures"].append({"payload": base64.b64encode(payload).decode(),
                                         "signature": layer.annotations[parse.SIGNATURE_ANNOTATION][:512]})
    fields["total_size"] = parsed.image_size
    return reading, children


@transaction.atomic
def _store(manifest: Manifest, token: str, reading: Reading, children: list[Reading], now: datetime) -> bool:
    if not Manifest.objects.select_for_update().filter(_ours(manifest, token)).exists():
        return False  # the lease went to another worker, who writes the same
    _write_all(manifest, reading, children, now)
    return True


def store_read(*, registry: Registry, digest: str, tag_hint: str, reading: Reading, children: list[Reading],
               now: datetime | None = None) -> bool:
    """Writes details that another piece of work read already (the mirror reads a pushed tag's manifest
    anyway: images/hooks.py), in the caller's transaction, as the queue would have written them. Only a
    row not read yet, and only when the read's cosign hint is the one the queue would use; otherwise the
    queue reads it. Returns whether it wrote."""
    now = now or timezone.now()
    row = Manifest.objects.select_for_update().filter(registry=registry, digest=digest).first()
    if row is None or row.status == Manifest.Status.DONE or _tag_hint(row) != tag_hint:
        return False
    row.registry = registry
    _write_all(row, reading, children, now)
    _settle(row, reading)
    return True


def _write_all(manifest: Manifest, reading: Reading, children: list[Reading], now: datetime) -> None:
    repositories = list(ManifestLink.objects.filter(manifest=manifest).values_list("repository_id", flat=True))
    for child in children:
        row, _ = Manifest.objects.get_or_create(registry_id=manifest.registry_id, digest=child.digest,
                                                defaults={"seen_in": manifest.seen_in})
        _write(row, child, now)
        ManifestLink.objects.bulk_create([ManifestLink(manifest=row, repository_id=r) for r in repositories],
                                         ignore_conflicts=True)
    _write(manifest, reading, now)


def _write(row: Manifest, reading: Reading, now: datetime) -> None:
    fields = dict(reading.fields, status=Manifest.Status.DONE, fetched_at=now, last_error="", lease_until=None)
    Manifest.objects.filter(pk=row.pk).update(**fields)
    Blob.objects.filter(manifest=row).delete()
    for blob in reading.blobs:
        blob.manifest = row
    Blob.objects.bulk_create(reading.blobs)


def process(manifest: Manifest, token: str, *, now: datetime | None = None) -> str:
    """Reads one claimed manifest and writes what it found; returns its status."""
    now = now or timezone.now()
    where = _where(manifest)
    if not where:
        _fail(manifest, token, "no repository holds it", retry=False, now=now)
        return Manifest.Status.FAILED
    client = RegistryClient(manifest.registry)
    try:
        reading, children = read_image(client, where, manifest.digest, tag_hint=_tag_hint(manifest))
    except RegistryError as exc:
        _fail(manifest, token, f"{exc.__class__.__name__}: {exc}", retry=exc.retryable, now=now)
        return Manifest.Status.PENDING if exc.retryable else Manifest.Status.FAILED
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the loop; the row is retried and kept
        log.exception("image details of %s: unexpected error", manifest.digest)
        _fail(manifest, token, f"{exc.__class__.__name__}: {exc}", retry=True, now=now)
        return Manifest.Status.PENDING
    if not _store(manifest, token, reading, children, now):
        return Manifest.Status.PENDING
    _settle(manifest, reading)
    return Manifest.Status.DONE


def _settle(manifest: Manifest, reading: Reading) -> None:
    """What follows a manifest's details being written: the tag counts of an artifact, and a link to the
    repository it was seen in."""
    if reading.fields.get("subject_digest"):
        # Known only now to be an artifact (an OCI 1.1 subject): its tags leave the repositories' counts.
        from images.artifacts import recount_tags

        recount_tags(Tag.objects.filter(digest=manifest.digest, repository__namespace__registry_id=manifest.registry_id)
                     .values("repository_id"))
    if not ManifestLink.objects.filter(manifest=manifest).exists() and manifest.seen_in:
        from namespaces.tags import repository_find

        repository = repository_find(registry=manifest.registry, repository_name=manifest.seen_in)
        if repository is not None:
            link(Manifest.objects.get(pk=manifest.pk), repository)


def process_batch(*, limit: int = 5, should_stop=None) -> int:
    token, rows = claim(limit=limit)
    for row in rows:
        if should_stop is not None and should_stop():
            Manifest.objects.filter(_ours(row, token)).update(lease_until=None, attempts=F("attempts") - 1)
            continue
        process(row, token)
    return len(rows)


def drain(*, limit: int = 20, max_batches: int = 100) -> int:
    total = 0
    for _ in range(max_batches):
        claimed = process_batch(limit=limit)
        total += claimed
        if not claimed:
            break
    return total
