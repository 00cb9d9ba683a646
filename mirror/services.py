"""What the UI, the API and the status page call about the inbox and the background processes."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from activities.services import activity_record
from mirror import inbox
from mirror.models import Event, Heartbeat, Lease

HEARTBEAT_EVERY = timedelta(seconds=5)
# A process not heard of for this long is considered gone.
HEARTBEAT_STALE = timedelta(seconds=30)
# Done and ignored events are kept this long (long past any redelivery), failed and flagged ones forever.
EVENT_RETENTION = timedelta(days=30)


# --- the inbox -----------------------------------------------------------------------------------


def inbox_counts() -> dict[str, int]:
    """Number of events per status, every status present (0 when none); plus `attention` = failed + flagged."""
    counts = {status: 0 for status in Event.Status.values}
    for row in Event.objects.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    counts["attention"] = counts[Event.Status.FAILED] + counts[Event.Status.FLAGGED]
    return counts


def inbox_backlog_age(*, now: datetime | None = None) -> timedelta | None:
    """How long the oldest due event has waited (None when nothing is due): the health check's number."""
    now = now or timezone.now()
    oldest = (Event.objects.filter(status__in=(Event.Status.PENDING, Event.Status.PROCESSING),
                                   next_attempt_at__lte=now)
              .order_by("received_at").values_list("received_at", flat=True).first())
    return None if oldest is None else now - oldest


def internal_pull_count() -> int:
    """Pulls by the internal account (this service's own reads), recorded but never acted upon."""
    from accounts.models import User

    return Event.objects.filter(action="pull", actor=User.INTERNAL_USERNAME).count()


RETRYABLE = (Event.Status.FAILED, Event.Status.FLAGGED, Event.Status.IGNORED, Event.Status.PENDING)


@transaction.atomic
def event_retry(*, event: Event, by=None, now: datetime | None = None) -> Event:
    """Puts a failed, flagged or ignored event back in the queue (a pending one: due now), read again
    from its raw text, so an event of a registry whose host name was fixed since is now understood.
    A done event was applied exactly once and stays so (a pull would be counted twice); one being
    processed is left to its worker. Returns the event as it is now."""
    now = now or timezone.now()
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status not in RETRYABLE:
        return event
    inbox.reclassify(event, now=now)
    event.attempts, event.next_attempt_at, event.lease_until, event.claim_token = 0, now, None, ""
    event.save()
    if by is not None:
        activity_record(key="webhook_event.retry", owner=by, target_type="event",
                        target_name=str(event)[:512], parameters={"event_id": event.event_id,
                                                                   "status": event.status})
    return event


def events_retry_failed(*, by=None, now: datetime | None = None) -> int:
    """Retries every failed event (after the registry came back, say); returns how many."""
    ids = list(Event.objects.filter(status=Event.Status.FAILED).values_list("pk", flat=True))
    for pk in ids:
        event_retry(event=Event(pk=pk), by=None, now=now)
    if by is not None and ids:
        activity_record(key="webhook_event.retry_failed", owner=by, target_type="event",
                        parameters={"count": len(ids)})
    return len(ids)


def events_prune(*, now: datetime | None = None, older_than: timedelta = EVENT_RETENTION) -> int:
    """Deletes done and ignored events received more than `older_than` ago; returns how many."""
    cutoff = (now or timezone.now()) - older_than
    deleted, _ = Event.objects.filter(status__in=(Event.Status.DONE, Event.Status.IGNORED),
                                      received_at__lt=cutoff).delete()
    return deleted


# --- heartbeats ----------------------------------------------------------------------------------


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_beat(*, name: str | None = None, info: dict[str, Any] | None = None,
                   started_at: datetime | None = None, now: datetime | None = None) -> Heartbeat:
    """Says this process is alive (created on the first beat)."""
    now = now or timezone.now()
    name = name or process_name()
    host, _, pid = name.rpartition(":")
    defaults = {"host": host[:255], "pid": int(pid) if pid.isdigit() else 0, "last_seen": now,
                "info": info or {}}
    beat, created = Heartbeat.objects.update_or_create(
        name=name, defaults=defaults, create_defaults={**defaults, "started_at": started_at or now})
    return beat


def heartbeat_stop(*, name: str | None = None) -> None:
    Heartbeat.objects.filter(name=name or process_name()).delete()


def heartbeats_prune(*, now: datetime | None = None, older_than: timedelta = timedelta(days=1)) -> int:
    deleted, _ = Heartbeat.objects.filter(last_seen__lt=(now or timezone.now()) - older_than).delete()
    return deleted


@dataclass(frozen=True)
class BackgroundStatus:
    alive: list[Heartbeat]  # processes heard of within HEARTBEAT_STALE
    stale: list[Heartbeat]  # processes that stopped beating without saying goodbye
    counts: dict[str, int]
    backlog_age: timedelta | None

    @property
    def running(self) -> bool:
        return bool(self.alive)


def background_status(*, now: datetime | None = None) -> BackgroundStatus:
    """Is a background process alive, and how is the inbox doing? (the status page, the health check)"""
    now = now or timezone.now()
    beats = list(Heartbeat.objects.all())
    fresh = now - HEARTBEAT_STALE
    return BackgroundStatus(
        alive=[b for b in beats if b.last_seen >= fresh],
        stale=[b for b in beats if b.last_seen < fresh],
        counts=inbox_counts(),
        backlog_age=inbox_backlog_age(now=now),
    )


# --- leases for periodic jobs --------------------------------------------------------------------


def lease_acquire(*, name: str, holder: str, seconds: float, now: datetime | None = None) -> bool:
    """Takes the named lease if it is free or expired (or already ours); True when we hold it now."""
    now = now or timezone.now()
    until = now + timedelta(seconds=seconds)
    free = Q(until__isnull=True) | Q(until__lt=now) | Q(holder=holder)
    if Lease.objects.filter(name=name).filter(free).update(holder=holder, until=until):
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, until=until)
    except IntegrityError:
        return False
    return True


def lease_release(*, name: str, holder: str) -> None:
    Lease.objects.filter(name=name, holder=holder).update(until=None, holder="")
