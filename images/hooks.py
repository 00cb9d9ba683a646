"""Where image details hear of new digests and of deletes: the tag signals, and the two calls other
apps make (mirror/processing.py for a manifest pushed by digest, portus_background for a round).

A hook never fails its caller: what it misses, the sweep (images/fetch.py) finds later.
"""

from __future__ import annotations

import logging
import time

from images import fetch

log = logging.getLogger(__name__)
_sweep = fetch.Sweep()
_event_sweep = fetch.EventSweep()


def _on_tag_pushed(sender, tag, repository, **kwargs) -> None:  # noqa: ARG001
    try:
        if not getattr(tag, QUEUED, False):  # the mirror queued it already, in the tag's transaction
            fetch.queue_tag(tag)
        fetch.link_orphans(repository)
    except Exception:  # noqa: BLE001
        log.exception("image details: queueing %s failed (the sweep will find it)", tag)


def _on_tags_pushed(sender, items, **kwargs) -> None:  # noqa: ARG001
    """Many tags at once (the catalog sync's batches): queued together; should that fail, one by one,
    each in a savepoint of its own, so that one tag that cannot be queued does not stop the others."""
    from django.db import transaction

    from images.bulk_queue import queue_tags

    try:
        with transaction.atomic():
            queue_tags([tag for tag, _repository, _created in items])
        return
    except Exception:  # noqa: BLE001
        log.exception("image details: queueing %d tags at once failed; queueing them one by one", len(items))
    for tag, repository, _created in items:
        try:
            with transaction.atomic():
                fetch.queue_tag(tag)
                fetch.link_orphans(repository)
        except Exception:  # noqa: BLE001
            log.exception("image details: queueing %s failed (the sweep will find it)", tag)


def _on_tag_deleted(sender, repository, tag_name, digest, **kwargs) -> None:  # noqa: ARG001
    from images.artifacts import forget

    try:
        forget(repository=repository, digest=digest)
    except Exception:  # noqa: BLE001
        log.exception("image details: forgetting %s@%s failed", repository, digest)


def connect() -> None:
    from namespaces.sync_writes import tags_pushed
    from namespaces.tags import tag_deleted, tag_pushed

    tag_pushed.connect(_on_tag_pushed, dispatch_uid="images-tag-pushed")
    tags_pushed.connect(_on_tags_pushed, dispatch_uid="images-tags-pushed")
    tag_deleted.connect(_on_tag_deleted, dispatch_uid="images-tag-deleted")


def digest_pushed(*, registry, repository_name: str, digest: str) -> None:
    """A manifest pushed by digest (a platform of an index, an OCI 1.1 referrer): queue it."""
    from namespaces.tags import repository_find

    try:
        repository = repository_find(registry=registry, repository_name=repository_name)
        fetch.enqueue(registry=registry, digest=digest, repository=repository, repository_name=repository_name)
    except Exception:  # noqa: BLE001
        log.exception("image details: queueing %s@%s failed", repository_name[:200], digest[:100])


# Set on a Tag whose manifest was queued in the transaction that wrote it (hold_pushed): the tag's signal,
# sent after that commit with the same object, then does not queue it again.
QUEUED = "image_details_queued"

# A pushed tag's manifest is held back from the image queue this long while the mirror reads its details
# itself (`hold_pushed`, `read_held`); should the process die first, the queue reads it after that.
HOLD_SECONDS = 60


class HeldImage:
    """A pushed tag's image whose details the mirror reads once the tags of its batch are written, with the
    client that read the manifest (and remembers it: RegistryClient.remember_manifests)."""

    def __init__(self, client, *, registry, repository_name: str, digest: str, tag: str, manifest_id: int) -> None:
        self.client, self.registry, self.repository_name = client, registry, repository_name
        self.digest, self.tag, self.manifest_id = digest, tag, manifest_id


def hold_pushed(*, tag, client) -> HeldImage | None:
    """Inside the transaction that has just written `tag`: queues its manifest (as the tag's signal would
    after the commit; the tag is marked, so the signal does not queue it again) and, when it is not read
    yet, holds it back from the queue for HOLD_SECONDS, so that the mirror's own read (`read_held`) is the
    only one. Never fails its caller."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from images.models import Manifest

    try:
        with transaction.atomic():
            manifest = fetch.queue_tag(tag)
            if manifest is not None and manifest.status != Manifest.Status.DONE:
                Manifest.objects.filter(pk=manifest.pk, status=Manifest.Status.PENDING).update(
                    next_attempt_at=timezone.now() + timedelta(seconds=HOLD_SECONDS))
    except Exception:  # noqa: BLE001
        log.exception("image details: queueing %s failed (the sweep will find it)", tag)
        return None
    setattr(tag, QUEUED, True)
    if manifest is None or manifest.status == Manifest.Status.DONE:
        return None
    repository = tag.repository
    return HeldImage(client, registry=repository.namespace.registry, repository_name=repository.full_name,
                     digest=tag.digest, tag=tag.name, manifest_id=manifest.pk)


def read_held(held: HeldImage) -> bool:
    """Reads a held image's details (the registry is asked only for what the client does not remember: the
    config) and writes them as the queue would, outside any transaction of the caller. When that cannot
    be done, the manifest goes back to the queue at once, which reads it with its retries. Never fails
    its caller; returns whether it wrote."""
    from django.db import transaction

    from images import parse

    hint = held.tag if parse.cosign_tag(held.tag) is not None else ""
    try:
        reading, children = fetch.read_image(held.client, held.repository_name, held.digest, tag_hint=hint)
        with transaction.atomic():
            wrote = fetch.store_read(registry=held.registry, digest=held.digest, tag_hint=hint, reading=reading,
                                     children=children)
    except Exception as exc:  # noqa: BLE001 - the queue's own read retries, or says why it cannot
        log.info("image details of %s@%s left to the queue: %s: %s", held.repository_name[:200],
                 held.digest[:100], exc.__class__.__name__, str(exc)[:300])
        wrote = False
    if not wrote:
        release_held(held)
    return wrote


def release_held(held: HeldImage) -> None:
    """Hands a held manifest back to the queue now (one not read yet; nothing else is touched)."""
    from django.utils import timezone

    from images.models import Manifest

    try:
        Manifest.objects.filter(pk=held.manifest_id, status=Manifest.Status.PENDING).update(
            next_attempt_at=timezone.now())
    except Exception:  # noqa: BLE001 - then it waits out its hold
        log.exception("image details of %s: handing it back to the queue failed", held.digest[:100])


def background_round(*, should_stop=None, limit: int = 5) -> int:
    """One round of the background's image work: a step of the sweep, up to `limit` manifests read,
    and the day's storage snapshot when due. Returns how many manifests were claimed."""
    from images import storage

    now = time.monotonic()
    _sweep.step(now)
    _event_sweep.step(now)
    claimed = fetch.process_batch(limit=limit, should_stop=should_stop)
    storage.snapshot_if_due()
    return claimed


def drain() -> int:
    """Everything due, now (`portus_background --once`, tests)."""
    from images import storage

    sweep = fetch.Sweep()
    while True:
        sweep.step(0.0)
        if sweep.cursor == 0:
            break
    events = fetch.EventSweep()
    while events.step(0.0) or events.resume_at == 0.0:
        pass
    claimed = fetch.drain()
    storage.snapshot_if_due()
    return claimed
