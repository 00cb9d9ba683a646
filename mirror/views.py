"""`/v2/webhooks/events`: the registry's notifications, authenticated, stored, answered at once.

Each registry sends its own notification secret (`manage.py registry_config --registry NAME` prints it in
the registry's configuration), and the registry it belongs to is the registry of every event in the
delivery, whatever the events' `request.host` says. The shared `secrets.webhook_secret`
(PORTUS_WEBHOOK_SECRET) still works, as before, for deployments set up with it: the registry of each event
is then the one its `request.host` names. It is legacy (whoever holds it speaks for every registry): a
warning says so once per process, and the registries page shows it.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from mirror import inbox
from mirror.event_log import event_fields
from portus import metrics
from portus.options import option
from registries.models import MAX_SECRET_LENGTH, Registry

log = logging.getLogger(__name__)

_legacy_warned = False


@dataclass(frozen=True)
class Sender:
    """Who a delivery is from: a registry, or (registry None) whoever holds the legacy shared secret."""

    registry: Registry | None


def _unauthorized(message: str) -> JsonResponse:
    response = JsonResponse({"errors": [{"code": "UNAUTHORIZED", "message": message}]}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="registry notifications"'
    return response


def _warn_legacy() -> None:
    global _legacy_warned
    if not _legacy_warned:
        _legacy_warned = True
        log.warning("registry notifications authenticated with the shared secrets.webhook_secret "
                    "(PORTUS_WEBHOOK_SECRET), which is legacy: events are attributed by their request.host. "
                    "Give each registry its own secret (manage.py registry_config --registry NAME), then "
                    "unset PORTUS_WEBHOOK_SECRET.")


def _matches(presented: str, secret: str) -> bool:
    return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), secret.encode("utf-8", "surrogateescape"))


def _configured(legacy: str) -> bool:
    if legacy or Registry.objects.exclude(notification_secret_digest="").exists():
        return True
    log.error("registry notification refused: no registry has a notification secret (manage.py "
              "registry_config --registry NAME) and secrets.webhook_secret (PORTUS_WEBHOOK_SECRET) is not set, "
              "so no notification can be authenticated")
    return False


def authenticate(request: HttpRequest) -> tuple[Sender | None, str]:
    """(the sender, "") or (None, why not)."""
    legacy = option("secrets.webhook_secret") or ""
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    presented = presented.strip()
    if scheme.lower() == "bearer" and presented:
        registry = Registry.for_notification_secret(presented) if len(presented) <= MAX_SECRET_LENGTH else None
        if registry is not None:
            return Sender(registry=registry), ""
        if legacy and _matches(presented, legacy):
            _warn_legacy()
            return Sender(registry=None), ""
    if not _configured(legacy):
        return None, "Notifications are not configured on this service."
    if scheme.lower() != "bearer" or not presented:
        return None, "Send the registry's notification secret as `Authorization: Bearer <secret>`."
    log.warning("registry notification refused: wrong secret (from %s)", request.META.get("REMOTE_ADDR"))
    return None, "Wrong secret."


def _too_large(request: HttpRequest, limit: int) -> bool:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    return declared > limit


def _presumed(request: HttpRequest) -> tuple[Registry, str] | None:
    """On PostgreSQL, the registry this process's copy of the registries table says holds the presented
    secret, with the secret's digest (no query): the statement storing the event checks it against the
    table (inbox.store_if_holder). None: authenticate first, as everywhere else."""
    if connection.vendor != "postgresql":
        return None
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return Registry.presumed_for_notification_secret(presented.strip())


def _too_large_answer(limit: int) -> JsonResponse:
    return JsonResponse({"errors": [{"code": "TOO_LARGE", "message": f"At most {limit} bytes."}]}, status=413)


@csrf_exempt
def events_view(request: HttpRequest) -> HttpResponse:
    """Stores every event and answers 202 without touching the registry: the registry retries a
    refused delivery forever and holds every later event behind it (PROTOCOL.md §3).

    A delivery is authenticated before anything is stored, by one of two equivalent ways: a look-up of
    the secret, then the insert; or, for a secret this process knows (PostgreSQL), one statement that
    inserts only if the registry holds the secret at that moment, with the look-up only when it does not
    (a secret rotated away is then refused as before) or when the delivery holds several events."""
    if request.method != "POST":
        response = HttpResponse(status=405)
        response["Allow"] = "POST"
        return response
    presumed = _presumed(request)
    sender = None
    if presumed is None:
        sender, message = authenticate(request)
        if sender is None:
            return _unauthorized(message)
    limit = int(option("limits.max_body_bytes"))
    declared_too_large = _too_large(request, limit)
    body = b"" if declared_too_large else request.read(limit + 1)
    if declared_too_large or len(body) > limit:
        if sender is None:
            sender, message = authenticate(request)  # a sender not authenticated yet hears nothing else
            if sender is None:
                return _unauthorized(message)
        return _too_large_answer(limit)
    content_type = request.content_type or ""
    if presumed is None:
        rows = _store(body, content_type, sender)
    else:
        registry, digest = presumed
        rows = inbox.rows_from_body(body, content_type=content_type, registry=registry)
        if not inbox.store_if_holder(rows, registry=registry, digest=digest):
            sender, message = authenticate(request)
            if sender is None:
                return _unauthorized(message)
            same = sender.registry is not None and sender.registry.pk == registry.pk
            rows = _store(body, content_type, sender, rows if same else None)
    metrics.events_received(len(rows))
    if log.isEnabledFor(logging.INFO):
        for row in rows:
            log.info("event received: %s %s", row.action or "?", row.repository[:200],
                     extra={"fields": event_fields(row)})
    # JsonResponse's very bytes and headers, without its encoder's cost.
    return HttpResponse(f'{{"received": {len(rows)}}}', content_type="application/json", status=202)


def _store(body: bytes, content_type: str, sender: Sender, rows: list | None = None) -> list:
    """Stores the delivery's rows (made from the body for `sender` unless given), authenticated already."""
    if rows is None:
        rows = inbox.rows_from_body(body, content_type=content_type, registry=sender.registry)
    inbox.store(rows)
    return rows
