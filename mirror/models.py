"""The registry's notifications, stored as received (the inbox), and the background processes' pulse."""

from __future__ import annotations

import json
from typing import Any

from django.db import models


class EventQuerySet(models.QuerySet):
    def needing_attention(self) -> EventQuerySet:
        """What an admin should look at: events that gave up (failed) or could not be understood (flagged)."""
        return self.filter(status__in=(Event.Status.FAILED, Event.Status.FLAGGED))


class Event(models.Model):
    """One registry notification. The row is written by the webhook view and never by the registry call."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting (maybe until next_attempt_at, after a failure)
        PROCESSING = "processing", "Processing"  # claimed by a background process until lease_until
        DONE = "done", "Done"  # applied
        FAILED = "failed", "Failed"  # gave up after too many attempts; kept, can be retried
        FLAGGED = "flagged", "Flagged"  # malformed, unknown action or registry; kept for an admin
        IGNORED = "ignored", "Ignored"  # nothing to do (blobs, mounts, own pulls…); kept

    # The event's `id`; for an event without a usable one, a hash of its bytes (so redelivery deduplicates).
    event_id = models.CharField(max_length=255, unique=True)
    registry = models.ForeignKey(
        "registries.Registry", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    action = models.CharField(max_length=32, blank=True)
    repository = models.CharField(max_length=255, blank=True)
    tag = models.CharField(max_length=128, blank=True)
    digest = models.CharField(max_length=255, blank=True)
    media_type = models.CharField(max_length=255, blank=True)
    actor = models.CharField(max_length=255, blank=True)
    request_host = models.CharField(max_length=255, blank=True)
    # The delivery came with this registry's own notification secret: `registry` is the registry that sent
    # it, whatever `request_host` says. Otherwise (the legacy shared secret) the registry was chosen by
    # request_host and may be chosen again when an admin retries the event.
    registry_authenticated = models.BooleanField(default=False)
    # The event's own time when it has a readable one not in the future, else the time it was received
    # (the original stays in `raw`).
    timestamp = models.DateTimeField()
    # The event as received: JSON text (ASCII-escaped, so any string survives every database), or the
    # undecodable body itself for a delivery that was not JSON.
    raw = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    # Who holds the lease: a fresh value per claim, so a worker whose lease expired cannot finish.
    claim_token = models.CharField(max_length=64, blank=True)
    # Why the event failed, was flagged or ignored.
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="event_claim"),
            models.Index(fields=["status", "lease_until"], name="event_lease"),
            models.Index(fields=["registry", "repository", "id"], name="event_repository_order"),
            models.Index(fields=["-received_at"], name="event_received"),
        ]

    def __str__(self) -> str:
        what = f"{self.repository}:{self.tag}" if self.tag else f"{self.repository}@{self.digest}"
        return f"{self.action or '?'} {what} ({self.status})"

    @property
    def payload(self) -> Any:
        """The event as parsed JSON, or None when what was received is not JSON."""
        try:
            return json.loads(self.raw)
        except (ValueError, RecursionError):
            return None

    @property
    def needs_attention(self) -> bool:
        return self.status in (self.Status.FAILED, self.Status.FLAGGED)


class Heartbeat(models.Model):
    """One running background process; `last_seen` is refreshed every few seconds while it runs."""

    name = models.CharField(max_length=255, unique=True)  # host:pid
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    # Counters and last activity the status page shows (events processed, last sync, last error).
    info = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return self.name


class Lease(models.Model):
    """A named, expiring lock for periodic jobs that one background process at a time should run."""

    name = models.CharField(max_length=255, unique=True)
    holder = models.CharField(max_length=255, blank=True)
    until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
