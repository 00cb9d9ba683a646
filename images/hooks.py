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
