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


class PushedRead:
    """A pushed tag's image details, read by the mirror before it writes the tag (see `read_pushed`)."""

    def __init__(self, digest: str, tag_hint: str, reading: fetch.Reading, children: list[fetch.Reading]) -> None:
        self.digest, self.tag_hint, self.reading, self.children = digest, tag_hint, reading, children


def read_pushed(client, *, repository_name: str, digest: str, tag: str) -> PushedRead | None:
    """The image details of a pushed tag, read with the client that has just read its manifest (and
    remembers it: RegistryClient.remember_manifests), so that the registry is asked only for the config,
    and the tag's details are there as soon as the tag is. Outside any transaction. None when the read
    fails: the queue reads it later, with its retries."""
    from images import parse

    hint = tag if parse.cosign_tag(tag) is not None else ""
    try:
        reading, children = fetch.read_image(client, repository_name, digest, tag_hint=hint)
    except Exception as exc:  # noqa: BLE001 - the queue's own read retries, or says why it cannot
        log.info("image details of %s@%s left to the queue: %s: %s", repository_name[:200], digest[:100],
                 exc.__class__.__name__, str(exc)[:300])
        return None
    return PushedRead(digest, hint, reading, children)


def store_pushed(*, tag, read: PushedRead | None) -> bool:
    """Writes what `read_pushed` read, inside the transaction that has just written `tag`: queues the
    manifest as the tag's signal will after the commit (which then finds it read), and writes the
    details. Never fails its caller; returns whether it wrote."""
    from django.db import transaction

    if read is None or tag is None or tag.digest != read.digest:
        return False
    try:
        with transaction.atomic():
            manifest = fetch.queue_tag(tag)
            if manifest is None:
                return False
            return fetch.store_read(registry=tag.repository.namespace.registry, digest=read.digest,
                                    tag_hint=read.tag_hint, reading=read.reading, children=read.children)
    except Exception:  # noqa: BLE001
        log.exception("image details of %s: writing the read failed (the queue reads it)", read.digest[:100])
        return False


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
