"""A namespace's outbound webhooks and their deliveries (the durable queue and the log in one table)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Webhook(models.Model):
    """Portus's webhook (name, URL, method, content type, basic auth, headers, enabled), plus events to send,
    a payload format and a signing secret. Secrets (password, header values, signing secret) are stored
    encrypted (hooks/crypto.py) and never shown back; the signing secret is shown once when made."""

    class Method(models.TextChoices):
        POST = "POST", "POST"
        GET = "GET", "GET"

    class ContentType(models.TextChoices):
        JSON = "application/json", "JSON (application/json)"
        FORM = "application/x-www-form-urlencoded", "Form (payload=<JSON>)"

    class Format(models.TextChoices):
        PORTUS = "portus", "Portus JSON"
        CLOUDEVENTS = "cloudevents", "CloudEvents 1.0 (structured JSON)"
        SLACK = "slack", "Slack-compatible text"

    namespace = models.ForeignKey("namespaces.Namespace", on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100, blank=True)
    url = models.CharField(max_length=2000)
    request_method = models.CharField(max_length=8, choices=Method.choices, default=Method.POST)
    content_type = models.CharField(max_length=64, choices=ContentType.choices, default=ContentType.JSON)
    payload_format = models.CharField(max_length=16, choices=Format.choices, default=Format.PORTUS)
    username = models.CharField(max_length=255, blank=True)
    password_encrypted = models.TextField(blank=True)
    # [[name, value], …] as encrypted JSON (values may be tokens); the names alone, for display.
    headers_encrypted = models.TextField(blank=True)
    header_names = models.JSONField(default=list, blank=True)
    secret_encrypted = models.TextField()
    secret_hint = models.CharField(max_length=16)  # the secret's first characters, to recognise it
    secret_rotated_at = models.DateTimeField()
    enabled = models.BooleanField(default=True)
    on_push = models.BooleanField(default=True)
    on_delete = models.BooleanField(default=True)
    on_pull = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Kept by the deliveries, for lists and the status page without a query per row.
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["namespace", "enabled"], name="webhook_namespace")]

    def __str__(self) -> str:
        return self.name or self.url[:80]

    @property
    def events(self) -> list[str]:
        return [name for name, on in (("push", self.on_push), ("delete", self.on_delete),
                                      ("pull", self.on_pull)) if on]

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)


class Delivery(models.Model):
    """One event for one webhook: queued, tried (with backoff) until it succeeds or gives up, then kept as
    the log of its last attempt for a while (webhooks.deliveries_kept_days / _per_webhook)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # due at next_attempt_at
        DELIVERING = "delivering", "Delivering"  # claimed until lease_until
        SUCCEEDED = "succeeded", "Succeeded"  # a 2xx answer
        FAILED = "failed", "Failed"  # gave up: refused target, or every attempt failed

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The event's id in the payload: the same for every webhook and every redelivery of one event.
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=16)  # push, delete, pull, ping
    payload = models.JSONField()  # the event (hooks/payloads.py); the body is rendered from it per attempt
    # A redelivery asked for by hand (its original may have left the log since: hence the flag).
    redelivery = models.BooleanField(default=False)
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=64, blank=True)
    # The last attempt: what was sent (secrets masked) and what came back (bounded).
    request_url = models.CharField(max_length=2000, blank=True)
    request_method = models.CharField(max_length=8, blank=True)
    request_headers = models.JSONField(default=dict, blank=True)
    request_body = models.TextField(blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_claim"),
            models.Index(fields=["status", "lease_until"], name="delivery_lease"),
            models.Index(fields=["webhook", "-id"], name="delivery_log"),
            models.Index(fields=["status", "-finished_at"], name="delivery_finished"),
        ]
        constraints = [
            # An event is queued once per webhook, however often the mirror processes it.
            models.UniqueConstraint(fields=["webhook", "event_id"], condition=Q(redelivery=False),
                                    name="delivery_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → webhook {self.webhook_id} ({self.status})"

    @property
    def succeeded(self) -> bool:
        return self.status == self.Status.SUCCEEDED
