"""Working through the inbox: claim events with a lease, call the registry outside any transaction, and
apply the outcome exactly once.

Claiming. A short transaction selects claimable rows (`pending` and due, or `processing` with an expired
lease) with `SELECT … FOR UPDATE SKIP LOCKED`, then marks them with a fresh claim token through a
conditional UPDATE that repeats the claimability test. SQLite has no row locks (Django silently drops
FOR UPDATE there); the conditional UPDATE is then the claim itself, so two processes can never both hold
one event on either database. A worker that dies loses nothing: its lease expires and the event is
claimed again (attempts count every claim, so an event that kills its worker ends up `failed`).

Finishing. The outcome is written in one transaction that first re-checks, by conditional UPDATE on the
claim token, that the lease is still ours, then applies the change: a worker that lost its lease
applies nothing, and an event is applied at most once.

Order. Events of one repository are NOT processed in arrival order: any worker takes any due event,
so one slow or failing event never holds up the rest of a repository (as the registry's own queue
would). Correctness comes from the events' own times instead: a tag keeps the time of the last event
applied to it and deletes leave tombstones (namespaces/tags.py), so every processing order converges to
the state of the newest event, and a late push cannot resurrect a deleted tag. The registry's clock is
the only clock compared (save that an event stamped in the future is ordered by the time it was received:
mirror/inbox.py), and time stamps have microsecond precision.

Deletes are confirmed. A delete forgets tags and leaves a tombstone, so before applying one the
registry is asked, with one cheap read, whether it still serves what the event says is gone (the tag; for
a delete by digest, one tag we hold on that digest; for a whole repository, its tag list). If it does,
the delete is not applied and the event says why; if the registry cannot be asked, the event is retried.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from images import hooks as image_hooks
from mirror.event_log import event_fields
from mirror.inbox import MANIFEST_MEDIA_TYPES
from mirror.models import Event
from mirror.signals import event_processed
from namespaces import tags as tag_services
from portus import metrics
from portus.logs import log_context
from registries.client import ManifestUnknown, RegistryClient, RegistryError
from registries.models import Registry

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # longer than the slowest event: an index read child by child
MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 3600


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 5 s, 10 s, 20 s … capped at an hour."""
    return timedelta(seconds=min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)))


def _claimable(now: datetime) -> Q:
    return Q(status=Event.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Event.Status.PROCESSING, lease_until__lt=now)


@dataclass
class Claim:
    token: str
    events: list[Event] = field(default_factory=list)


def claim(*, limit: int = 10, now: datetime | None = None, lease: timedelta = LEASE) -> Claim:
    """Takes up to `limit` due events (oldest first) for this worker, for `lease`."""
    now = now or timezone.now()
    token = secrets.token_hex(16)
    with transaction.atomic():
        ids = list(
            Event.objects.select_for_update(skip_locked=True).filter(_claimable(now))
            .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit]
        )
        if not ids:
            return Claim(token=token, events=[])  # nothing due: an idle loop's every round
        Event.objects.filter(pk__in=ids).filter(_claimable(now)).update(
            status=Event.Status.PROCESSING, claim_token=token, lease_until=now + lease,
            attempts=F("attempts") + 1,
        )
    events = list(Event.objects.select_related("registry").filter(claim_token=token,
                                                                  status=Event.Status.PROCESSING).order_by("id"))
    return Claim(token=token, events=events)


def renew(event: Event, token: str, *, now: datetime | None = None, lease: timedelta = LEASE) -> bool:
    """Extends the lease before a slow step; False when the lease was lost to another worker."""
    now = now or timezone.now()
    return bool(Event.objects.filter(pk=event.pk, claim_token=token, status=Event.Status.PROCESSING).update(
        lease_until=now + lease))


def _finish(event: Event, token: str, status: str, *, note: str = "", now: datetime,
            apply: Callable[[], str] | None = None) -> bool:
    """Records the outcome and applies the change in one transaction, if the lease is still ours."""
    with transaction.atomic():
        ours = Event.objects.filter(pk=event.pk, claim_token=token, status=Event.Status.PROCESSING).update(
            status=status, last_error=note[:2000], processed_at=now, lease_until=None)
        if not ours:
            log.info("event %s: lease lost, outcome dropped", event.event_id)
            return False
        if apply is not None:
            note = apply() or note
            if note:
                Event.objects.filter(pk=event.pk).update(last_error=note[:2000])
    event.status, event.last_error, event.processed_at = status, note, now
    return True


def _fail(event: Event, token: str, error: str, *, now: datetime) -> bool:
    attempts = Event.objects.filter(pk=event.pk).values_list("attempts", flat=True).first() or event.attempts
    if attempts >= MAX_ATTEMPTS:
        log.warning("event %s failed for good after %d attempts: %s", event.event_id, attempts, error)
        return _finish(event, token, Event.Status.FAILED, note=error, now=now)
    updated = Event.objects.filter(pk=event.pk, claim_token=token, status=Event.Status.PROCESSING).update(
        status=Event.Status.PENDING, last_error=error[:2000], lease_until=None,
        next_attempt_at=now + backoff(attempts))
    event.status, event.last_error = Event.Status.PENDING, error
    log.info("event %s: attempt %d failed, retrying: %s", event.event_id, attempts, error)
    return bool(updated)


def _actor(name: str) -> User | None:
    return User.objects.filter(username=name).first() if name else None


def _registry(event: Event) -> Registry | None:
    if event.registry_authenticated:
        return event.registry  # the registry whose own secret came with it, or None: deleted since
    return event.registry or Registry.for_host(event.request_host)


def _push(event: Event, token: str, registry: Registry, now: datetime,
          held: list[image_hooks.HeldImage] | None) -> bool:
    stale = tag_services.push_is_stale(registry=registry, repository_name=event.repository, tag=event.tag,
                                       digest=event.digest, event_time=event.timestamp)
    if stale:
        # Decided without reading the registry: the manifest may well be gone already.
        return _finish(event, token, Event.Status.DONE, note=f"not applied: {stale}", now=now)
    client = RegistryClient(registry).remember_manifests()
    try:
        details = client.image_details(event.repository, event.digest)
    except ManifestUnknown as exc:
        return _finish(event, token, Event.Status.IGNORED, note=f"{exc} (deleted since?)", now=now)
    if details.media_type and details.media_type not in MANIFEST_MEDIA_TYPES:
        return _finish(event, token, Event.Status.IGNORED, now=now,
                       note=f"not an image manifest: {details.media_type[:100]}")
    author = _actor(event.actor)

    def apply() -> str:
        change = tag_services.tag_apply_push(
            registry=registry, repository_name=event.repository, tag=event.tag, digest=details.digest,
            media_type=details.media_type or event.media_type, image_id=details.image_id, size=details.size,
            platforms=details.platforms, author=author, event_time=event.timestamp)
        if change.applied and held is not None and (image := image_hooks.hold_pushed(tag=change.tag, client=client)):
            # Its details are read once the batch's tags are written, with this client, which holds the
            # manifests read above: one read of each (process_batch).
            held.append(image)
        event_processed.send(sender=Event, event=event, registry=registry, image=details)
        return f"not applied: {change.reason}" if not change.applied else ""

    return _finish(event, token, Event.Status.DONE, now=now, apply=apply)


def _held_digest(registry: Registry, repository_name: str, tag: str) -> str:
    repository = tag_services.repository_find(registry=registry, repository_name=repository_name)
    if repository is None:
        return ""
    return repository.tags.filter(name=tag).values_list("digest", flat=True).first() or ""


def _held_tag_on(registry: Registry, repository_name: str, digest: str) -> str:
    repository = tag_services.repository_find(registry=registry, repository_name=repository_name)
    if repository is None:
        return ""
    return repository.tags.filter(digest=digest).order_by("name").values_list("name", flat=True).first() or ""


def delete_contradicted(event: Event, registry: Registry) -> str:
    """Why the registry contradicts this delete ('' when it does not): it still serves the tag at the
    digest we hold (or, holding none, at all); it still serves a tag we hold on the deleted digest (a
    manifest delete untags every tag on it); it still lists tags in the deleted repository. A tag the
    registry serves at another digest was pushed again since: the delete applies to what we hold, and the
    newer push follows. Raises RegistryError when the registry cannot be asked."""
    client = RegistryClient(registry)
    if event.tag:
        served = client.manifest_digest(event.repository, event.tag)
        if served is None:
            return ""
        expected = event.digest or _held_digest(registry, event.repository, event.tag)
        if expected and served != expected:
            return ""
        return f"not applied: the registry still serves {event.repository}:{event.tag} at {served}"
    if event.digest:
        held = _held_tag_on(registry, event.repository, event.digest)
        if held and client.manifest_digest(event.repository, held) == event.digest:
            return f"not applied: the registry still serves {event.repository}:{held} at {event.digest}"
        return ""
    tags = client.tags(event.repository)
    if tags:
        return f"not applied: the registry still lists {len(tags)} tag(s) in {event.repository}"
    return ""


def _delete(event: Event, token: str, registry: Registry, now: datetime) -> bool:
    contradicted = delete_contradicted(event, registry)
    if contradicted:
        log.warning("event %s: delete of %s not applied: %s", event.event_id, event.repository[:200], contradicted)
        return _finish(event, token, Event.Status.DONE, note=contradicted, now=now)
    actor = _actor(event.actor)

    def apply() -> str:
        event_processed.send(sender=Event, event=event, registry=registry)
        if event.tag or event.digest:
            removed = tag_services.tag_apply_delete(registry=registry, repository_name=event.repository,
                                                    tag=event.tag or None, digest=event.digest or None,
                                                    event_time=event.timestamp, actor=actor)
            return f"{removed} tag(s) removed"
        # Distribution 3 reports a repository delete as a delete naming only the repository.
        gone = tag_services.repository_delete(registry=registry, repository_name=event.repository, actor=actor,
                                              event_time=event.timestamp)
        return "repository removed" if gone else "repository not removed (unknown, or pushed again since)"

    return _finish(event, token, Event.Status.DONE, now=now, apply=apply)


def _pull(event: Event, token: str, registry: Registry, now: datetime) -> bool:
    def apply() -> str:
        counted = tag_services.tag_record_pull(registry=registry, repository_name=event.repository,
                                               tag=event.tag, event_time=event.timestamp)
        event_processed.send(sender=Event, event=event, registry=registry)
        return "" if counted else "tag not known here: pull not counted"

    return _finish(event, token, Event.Status.DONE, now=now, apply=apply)


def process_event(event: Event, token: str, *, now: datetime | None = None,
                  held: list[image_hooks.HeldImage] | None = None) -> str:
    """Processes one claimed event; returns its new status. Every line it logs carries the event's id and
    the registry's request id; the last one says how it ended."""
    fields = event_fields(event)
    started = time.perf_counter()
    with log_context(event_id=fields["event_id"], registry_request_id=fields["registry_request_id"]):
        status = _process(event, token, now=now, held=held)
        seconds = time.perf_counter() - started
        final = status != Event.Status.PENDING
        lag = (timezone.now() - event.received_at).total_seconds() if final and event.received_at else None
        metrics.event_processed(status=status if final else "retry", seconds=seconds, lag_seconds=lag)
        log.info("event %s: %s %s", status, event.action or "?", event.repository[:200],
                 extra={"fields": {**fields, "status": status, "seconds": round(seconds, 4),
                                   "note": (event.last_error or "")[:300]}})
    return status


def _process(event: Event, token: str, *, now: datetime | None = None,
             held: list[image_hooks.HeldImage] | None = None) -> str:
    now = now or timezone.now()
    registry = _registry(event)
    if registry is None:
        note = ("the registry that sent it has been deleted" if event.registry_authenticated
                else f"unknown registry host {event.request_host!r}")
        _finish(event, token, Event.Status.FLAGGED, note=note, now=now)
        return event.status
    if event.registry_id is None:
        Event.objects.filter(pk=event.pk).update(registry=registry)
    try:
        if event.action == "push" and (event.media_type in MANIFEST_MEDIA_TYPES or not event.media_type):
            if event.tag:
                _push(event, token, registry, now, held)
            else:
                image_hooks.digest_pushed(registry=registry, repository_name=event.repository, digest=event.digest)
                _finish(event, token, Event.Status.IGNORED, note="manifest pushed by digest (no tag)", now=now)
        elif event.action == "delete":
            _delete(event, token, registry, now)
        elif event.action == "pull" and event.tag:
            _pull(event, token, registry, now)
        else:
            _finish(event, token, Event.Status.IGNORED, note=f"nothing to do for {event.action}", now=now)
    except tag_services.ImageNameRefused as exc:
        _finish(event, token, Event.Status.FLAGGED, note=str(exc), now=now)
    except RegistryError as exc:
        if exc.retryable:
            _fail(event, token, f"{exc.__class__.__name__}: {exc}", now=now)
        else:
            _finish(event, token, Event.Status.FAILED, note=f"{exc.__class__.__name__}: {exc}", now=now)
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the loop; the event is retried and kept
        log.exception("event %s: unexpected error", event.event_id)
        _fail(event, token, f"{exc.__class__.__name__}: {exc}", now=now)
    return event.status


def process_batch(*, limit: int = 10, now: datetime | None = None, should_stop: Callable[[], bool] | None = None,
                  reader: HeldReader | None = None) -> int:
    """Claims and processes up to `limit` events; returns how many were claimed. The image details of the
    tags pushed are read after the batch's tags are written (so a burst of pushes is visible first), or
    sooner when the manifests they hold reach HELD_BYTES; with a `reader`, they are handed to it instead,
    and this loop goes on to the next events at once."""
    taken = claim(limit=limit, now=now)
    held: list[image_hooks.HeldImage] = []
    try:
        for index, event in enumerate(taken.events):
            if should_stop is not None and should_stop():
                # Give the rest back at once rather than after the lease runs out.
                rest = [e.pk for e in taken.events[index:]]
                Event.objects.filter(pk__in=rest, claim_token=taken.token, status=Event.Status.PROCESSING).update(
                    status=Event.Status.PENDING, lease_until=None, attempts=F("attempts") - 1)
                break
            if index and not renew(event, taken.token):
                continue
            process_event(event, taken.token, now=now, held=held)
            if reader is not None:
                reader.take(held)
            elif sum(image.client.remembered_bytes() for image in held) >= HELD_BYTES:
                _read_held(held, should_stop)
    finally:
        if reader is not None:
            reader.take(held)
        else:
            _read_held(held, should_stop)
    return len(taken.events)


# The manifests a batch may hold for its images' details before they are read (memory, bounded).
HELD_BYTES = 32 * 1024 * 1024
# The images the reader of held images lets wait at most (HeldReader), whatever their size.
HELD_IMAGES = 1000


def _read_held(held: list[image_hooks.HeldImage], should_stop: Callable[[], bool] | None) -> None:
    while held:
        image = held.pop(0)
        if should_stop is not None and should_stop():
            image_hooks.release_held(image)  # stopping: the queue reads it
        else:
            image_hooks.read_held(image)


class HeldReader:
    """Reads held images' details in a thread of its own (portus_background, one per process), so that the
    event loops never wait for them: each push is visible as soon as its own event is done, not after
    the image reads of the events claimed with it. Reading them inline took 40 % of the loops' time in
    the push bench (200 pushes, 50 at once), and an event waited behind them in the inbox.

    Bounded: at most `max_bytes` of manifests and `max_images` images wait (a manifest too large for the
    client to remember counts no bytes, so the count bounds those); an image that does not fit, or that
    waited longer than `max_wait` seconds (its hold on the queue is HOLD_SECONDS), goes back to the
    images queue at once, which reads it again with its own retries. Nothing is lost when the process stops: whatever
    still waits goes back to the queue, and an image handed over after that goes back at once."""

    def __init__(self, stopping: threading.Event, *, max_bytes: int = HELD_BYTES, max_images: int = HELD_IMAGES,
                 max_wait: float = image_hooks.HOLD_SECONDS / 2) -> None:
        self.stopping, self.max_bytes, self.max_images, self.max_wait = stopping, max_bytes, max_images, max_wait
        self._waiting: deque[tuple[float, int, image_hooks.HeldImage]] = deque()
        self._bytes = 0
        self._closed = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def take(self, held: list[image_hooks.HeldImage]) -> None:
        """Takes over every image of `held` (which is emptied): to read, or back to the queue now."""
        back = []
        with self._cond:
            while held:
                image = held.pop(0)
                size = image.client.remembered_bytes()
                full = self._bytes + size > self.max_bytes or len(self._waiting) >= self.max_images
                if self._closed or self.stopping.is_set() or full:
                    back.append(image)
                    continue
                self._waiting.append((time.monotonic(), size, image))
                self._bytes += size
            self._cond.notify()
        for image in back:
            image_hooks.release_held(image)

    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    def _next(self) -> tuple[float, image_hooks.HeldImage] | None:
        with self._cond:
            while not self._waiting and not self.stopping.is_set():
                self._cond.wait(0.25)
            if self.stopping.is_set():
                return None
            queued_at, size, image = self._waiting.popleft()
            self._bytes -= size
            return queued_at, image

    def run(self) -> None:
        """Reads until `stopping` is set, then hands what is left back to the queue."""
        try:
            while (item := self._next()) is not None:
                queued_at, image = item
                if not connection.in_atomic_block:
                    close_old_connections()  # a broken or too old connection, between two reads
                if time.monotonic() - queued_at > self.max_wait:
                    image_hooks.release_held(image)
                else:
                    image_hooks.read_held(image)  # never raises: what it cannot read goes back to the queue
        finally:
            with self._cond:
                self._closed = True
                rest = [image for _, _, image in self._waiting]
                self._waiting.clear()
                self._bytes = 0
            for image in rest:
                image_hooks.release_held(image)
            if not connection.in_atomic_block:  # this thread's own connection (not a caller's transaction)
                connection.close()

    def start(self) -> HeldReader:
        self._thread = threading.Thread(target=self.run, name="portus-held-images", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def drain(*, limit: int = 10, now: datetime | None = None, max_batches: int = 1000) -> int:
    """Processes every due event (tests, `portus_background --once`); returns how many were claimed."""
    total = 0
    for _ in range(max_batches):
        claimed = process_batch(limit=limit, now=now)
        total += claimed
        if not claimed:
            break
    return total
