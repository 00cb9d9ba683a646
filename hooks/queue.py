"""The delivery queue: deliveries are queued in the transaction that marks a registry event processed,
claimed with a lease by any background process, sent with retries and exponential backoff, and kept as a
bounded log.

Queueing. The mirror sends `event_processed` inside the transaction that records an event's outcome
(mirror/processing.py); the deliveries are inserted in that same transaction. They commit together with
the event's new status or not at all (the event is then processed again), so a process that dies loses
no delivery, and a unique (webhook, event id) row means none is queued twice.

Claiming, as the mirror's inbox does: `SELECT … FOR UPDATE SKIP LOCKED` then a conditional UPDATE with a
fresh claim token, so two processes never hold one delivery (also on SQLite, which has no row locks). The
HTTP request happens outside any transaction; the outcome is written only while the lease is ours.

Retries: a failed attempt (no answer, or an answer that is not 2xx) is tried again after
`webhooks.backoff_seconds` × 2^(attempt-1), capped at an hour, up to `webhooks.max_attempts` attempts;
a refused target (hooks/targets.py) fails at once. Redelivery queues a new delivery of the same event
(same event id, new delivery id), also after it succeeded.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hooks import crypto, payloads, sender
from hooks.models import Delivery, Webhook
from portus.options import option

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)  # longer than an attempt: webhooks.timeout is at most 60 s
BACKOFF_CAP_SECONDS = 3600
MAX_KEPT_BODY = 16 * 1024
MAX_KEPT_RESPONSE = 4 * 1024
USER_AGENT = "Portus-Webhooks/1"
_EVENT_NAMESPACE = uuid.UUID("6f1c3a52-8c1e-4e0b-9a55-2d8f3f0b7e21")


# --- queueing -------------------------------------------------------------------------------------


def _webhooks_of(registry, repository_name: str, action: str) -> list[Webhook]:
    """The enabled webhooks wanting `action` of the namespace holding the repository, with their namespace,
    in one query: none when there is no such namespace or it is retired (a retired namespace's webhooks are
    nobody's any more: they stay silent)."""
    from portus.names import split_repository_name

    namespace_name, _ = split_repository_name(repository_name)
    where = {"namespace__is_global": True} if namespace_name == "" else {
        "namespace__name": namespace_name, "namespace__is_global": False}
    return list(Webhook.objects.select_related("namespace").filter(
        namespace__registry=registry, namespace__retired_at__isnull=True, enabled=True,
        **{f"on_{action}": True}, **where).order_by("pk"))


def on_event_processed(sender, *, event, registry, image=None, **kwargs) -> None:  # noqa: ARG001
    """Queues a delivery for every enabled webhook of the event's namespace that wants its kind. Runs in
    the mirror's transaction; a failure here is logged and leaves the mirror's work alone (a savepoint)."""
    from accounts.models import User

    if event.action not in ("push", "delete", "pull"):
        return
    if event.action == "pull" and event.actor == User.INTERNAL_USERNAME:
        return  # this service's own reads
    try:
        with transaction.atomic():
            webhooks = _webhooks_of(registry, event.repository, event.action)
            if not webhooks:
                return
            namespace = webhooks[0].namespace
            payload = payloads.event_payload(
                event_id=str(uuid.uuid5(_EVENT_NAMESPACE, f"{registry.pk}:{event.event_id}")),
                event=event.action, time=event.timestamp.isoformat().replace("+00:00", "Z"),
                registry=registry.reference_host, namespace="" if namespace.is_global else namespace.name,
                repository=event.repository, tag=event.tag,
                digest=(image.digest if image is not None else event.digest),
                media_type=(image.media_type if image is not None and image.media_type else event.media_type),
                size=image.size if image is not None else 0,
                platforms=image.platforms if image is not None else [], actor=event.actor)
            deliveries_queue(webhooks=webhooks, payload=payload)
    except Exception:  # noqa: BLE001 - a webhook bug must never hold up the registry's events
        log.exception("webhooks: could not queue the deliveries of event %s", event.event_id)


def deliveries_queue(*, webhooks: list[Webhook], payload: dict, now: datetime | None = None) -> None:
    now = now or timezone.now()
    Delivery.objects.bulk_create([
        Delivery(webhook=webhook, event_id=payload["id"], event_type=payload["event"], payload=payload,
                 next_attempt_at=now, created_at=now) for webhook in webhooks
    ], ignore_conflicts=True)


def delivery_redeliver(*, delivery: Delivery, now: datetime | None = None) -> Delivery:
    """A new delivery of the same event to the same webhook, due at once (the original stays in the log)."""
    now = now or timezone.now()
    return Delivery.objects.create(webhook=delivery.webhook, event_id=delivery.event_id,
                                   event_type=delivery.event_type, payload=delivery.payload,
                                   redelivery=True, redelivery_of=delivery, next_attempt_at=now, created_at=now)


def ping_queue(*, webhook: Webhook, by=None, now: datetime | None = None) -> Delivery:
    """A test delivery ("ping") with a sample event of the webhook's namespace."""
    now = now or timezone.now()
    namespace = webhook.namespace
    name = "" if namespace.is_global else namespace.name
    payload = payloads.event_payload(
        event_id=str(uuid.uuid4()), event="ping", time=now.isoformat().replace("+00:00", "Z"),
        registry=namespace.registry.reference_host, namespace=name,
        repository=f"{name}/example" if name else "example", tag="latest",
        actor=getattr(by, "username", "") or "")
    return Delivery.objects.create(webhook=webhook, event_id=payload["id"], event_type="ping", payload=payload,
                                   next_attempt_at=now, created_at=now)


# --- claiming ---------------------------------------------------------------------------------------


def _claimable(now: datetime) -> Q:
    # A disabled webhook's queued deliveries wait until it is enabled again; a test ("ping") goes anyway.
    due = Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) & (
        Q(webhook__enabled=True) | Q(event_type="ping"))
    return due | Q(status=Delivery.Status.DELIVERING, lease_until__lt=now)


def claim(*, limit: int = 10, now: datetime | None = None) -> tuple[str, list[Delivery]]:
    now = now or timezone.now()
    token = secrets.token_hex(16)
    with transaction.atomic():
        ids = list(Delivery.objects.select_for_update(skip_locked=True).filter(_claimable(now))
                   .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
        if not ids:
            return token, []  # nothing due: the idle loop's every round
        Delivery.objects.filter(pk__in=ids).filter(_claimable(now)).update(
            status=Delivery.Status.DELIVERING, claim_token=token, lease_until=now + LEASE,
            attempts=F("attempts") + 1)
    taken = list(Delivery.objects.select_related("webhook", "webhook__namespace")
                 .filter(claim_token=token, status=Delivery.Status.DELIVERING).order_by("id"))
    return token, taken


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: backoff_seconds, twice that, … capped at an hour."""
    base = int(option("webhooks.backoff_seconds"))
    return timedelta(seconds=min(BACKOFF_CAP_SECONDS, base * 2 ** max(attempts - 1, 0)))


# --- one attempt --------------------------------------------------------------------------------------


def _request(webhook: Webhook, delivery: Delivery, now: datetime) -> tuple[str, dict, bytes, set[str], dict]:
    """(url, headers, body, names of headers dropped on a cross-origin redirect, headers as logged)."""
    body, content_type, query = payloads.encode(delivery.payload, payload_format=webhook.payload_format,
                                                content_type=webhook.content_type, method=webhook.request_method)
    url = webhook.url
    if query:
        url += ("&" if "?" in url else "?") + query
    timestamp = int(now.timestamp())
    signed = query.encode("ascii") if webhook.request_method == "GET" else body
    headers: dict[str, str] = {}
    secret_names: set[str] = set()
    logged: dict[str, str] = {}
    for name, value in json_headers(webhook):
        headers[name] = value
        secret_names.add(name.lower())
        logged[name] = "[hidden]"
    if webhook.username:
        password = crypto.decrypt(webhook.password_encrypted)
        pair = f"{webhook.username}:{password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        secret_names.add("authorization")
        logged["Authorization"] = f"Basic [{webhook.username}:hidden]"
    ours = {
        "User-Agent": USER_AGENT,
        payloads.EVENT_HEADER: delivery.event_type,
        payloads.DELIVERY_HEADER: str(delivery.uuid),
        payloads.TIMESTAMP_HEADER: str(timestamp),
        payloads.SIGNATURE_HEADER: payloads.signature(crypto.decrypt(webhook.secret_encrypted), timestamp, signed),
    }
    if content_type:
        ours["Content-Type"] = content_type
    headers.update(ours)
    logged.update(ours)
    return url, headers, body, secret_names, logged


def json_headers(webhook: Webhook) -> list[tuple[str, str]]:
    if not webhook.headers_encrypted:
        return []
    return [(str(name), str(value)) for name, value in json.loads(crypto.decrypt(webhook.headers_encrypted))]


def _text(data: bytes, limit: int) -> str:
    return data[:limit].decode("utf-8", "replace").replace("\x00", "\ufffd")


def deliver(delivery: Delivery, token: str, *, now: datetime | None = None,
            resolver: sender.Resolver | None = None) -> str:
    """Makes one attempt of a claimed delivery and records it; returns the delivery's new status."""
    now = now or timezone.now()
    webhook = delivery.webhook
    try:
        url, headers, body, secret_names, logged = _request(webhook, delivery, now)
    except crypto.SecretUnreadable as exc:
        return _record(delivery, token, now=now, sent=sender.Sent(error=str(exc), refused=True), url=webhook.url,
                       logged={}, body=b"")
    sent = sender.send(method=webhook.request_method, url=url, headers=headers, body=body,
                       secret_headers=secret_names, timeout=float(option("webhooks.timeout")), resolver=resolver)
    return _record(delivery, token, now=now, sent=sent, url=url, logged=logged, body=body)


def _record(delivery: Delivery, token: str, *, now: datetime, sent: sender.Sent, url: str, logged: dict,
            body: bytes) -> str:
    max_attempts = int(option("webhooks.max_attempts"))
    error = sent.error
    if not error and not sent.ok:
        error = f"answered {sent.status}"
    if len(sent.hops) > 1:
        error = (error + "; " if error else "") + "redirected: " + " → ".join(h[:200] for h in sent.hops)
    if sent.ok and not sent.error:
        status, next_at = Delivery.Status.SUCCEEDED, delivery.next_attempt_at
    elif sent.refused or delivery.attempts >= max_attempts:
        status, next_at = Delivery.Status.FAILED, delivery.next_attempt_at
    else:
        status, next_at = Delivery.Status.PENDING, now + backoff(delivery.attempts)
    finished = now if status in (Delivery.Status.SUCCEEDED, Delivery.Status.FAILED) else None
    with transaction.atomic():
        ours = Delivery.objects.filter(pk=delivery.pk, claim_token=token, status=Delivery.Status.DELIVERING).update(
            status=status, next_attempt_at=next_at, lease_until=None, finished_at=finished,
            request_url=url[:2000], request_method=delivery.webhook.request_method, request_headers=logged,
            request_body=_text(body, MAX_KEPT_BODY), response_status=sent.status,
            response_headers=sent.headers, response_body=_text(sent.body, MAX_KEPT_RESPONSE),
            duration_ms=sent.duration_ms, error=error[:2000])
        if not ours:
            log.info("webhook delivery %s: lease lost, outcome dropped", delivery.uuid)
            return delivery.status
        Webhook.objects.filter(pk=delivery.webhook_id).update(last_delivery_at=now, last_status=status)
    if status != Delivery.Status.SUCCEEDED:
        log.info("webhook %s delivery %s attempt %d: %s", delivery.webhook_id, delivery.uuid, delivery.attempts,
                 error[:300])
    delivery.status = status
    return status


def deliver_batch(*, limit: int = 10, now: datetime | None = None, should_stop: Callable[[], bool] | None = None,
                  resolver: sender.Resolver | None = None) -> int:
    """Claims and sends up to `limit` due deliveries; returns how many were claimed."""
    token, taken = claim(limit=limit, now=now)
    for index, delivery in enumerate(taken):
        if should_stop is not None and should_stop():
            rest = [d.pk for d in taken[index:]]
            Delivery.objects.filter(pk__in=rest, claim_token=token, status=Delivery.Status.DELIVERING).update(
                status=Delivery.Status.PENDING, lease_until=None, attempts=F("attempts") - 1)
            break
        try:
            deliver(delivery, token, now=now, resolver=resolver)
        except Exception:  # noqa: BLE001 - one bad row must not stop the others; its lease expires
            log.exception("webhook delivery %s: unexpected error", delivery.uuid)
    return len(taken)


def drain(*, now: datetime | None = None, max_batches: int = 100, resolver: sender.Resolver | None = None) -> int:
    """Sends every due delivery (tests, `portus_background --once`); returns how many were claimed."""
    total = 0
    for _ in range(max_batches):
        claimed = deliver_batch(now=now, resolver=resolver)
        total += claimed
        if not claimed:
            break
    return total


# --- the log's bound ----------------------------------------------------------------------------------


def deliveries_prune(*, now: datetime | None = None) -> int:
    """Forgets finished deliveries older than webhooks.deliveries_kept_days, and beyond the newest
    webhooks.deliveries_kept_per_webhook of each webhook. Queued ones are never pruned."""
    now = now or timezone.now()
    finished = Delivery.objects.filter(status__in=(Delivery.Status.SUCCEEDED, Delivery.Status.FAILED))
    removed, _ = finished.filter(finished_at__lt=now - timedelta(days=int(option("webhooks.deliveries_kept_days")))
                                 ).delete()
    keep = int(option("webhooks.deliveries_kept_per_webhook"))
    for webhook_id in Webhook.objects.values_list("id", flat=True).iterator(chunk_size=500):
        cutoff = (finished.filter(webhook_id=webhook_id).order_by("-id").values_list("id", flat=True)[keep:keep + 1])
        cutoff = list(cutoff)
        if cutoff:
            count, _ = finished.filter(webhook_id=webhook_id, id__lte=cutoff[0]).delete()
            removed += count
    return removed
