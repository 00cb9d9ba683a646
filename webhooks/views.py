"""`/v2/webhooks/events`: the registry's notifications, authenticated, stored, answered at once."""

from __future__ import annotations

import hmac
import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from portus.options import option
from webhooks import inbox

log = logging.getLogger(__name__)


def _unauthorized(message: str) -> JsonResponse:
    response = JsonResponse({"errors": [{"code": "UNAUTHORIZED", "message": message}]}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="registry notifications"'
    return response


def _authorized(request: HttpRequest) -> tuple[bool, str]:
    secret = option("secrets.webhook_secret") or ""
    if not secret:
        log.error("registry notification refused: secrets.webhook_secret (PORTUS_WEBHOOK_SECRET) is not set, "
                  "so no notification can be authenticated")
        return False, "Notifications are not configured on this service."
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return False, "Send the shared secret as `Authorization: Bearer <secret>`."
    if not hmac.compare_digest(presented.strip().encode("utf-8", "surrogateescape"),
                               secret.encode("utf-8", "surrogateescape")):
        log.warning("registry notification refused: wrong secret (from %s)", request.META.get("REMOTE_ADDR"))
        return False, "Wrong secret."
    return True, ""


def _too_large(request: HttpRequest, limit: int) -> bool:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    return declared > limit


@csrf_exempt
def events_view(request: HttpRequest) -> HttpResponse:
    """Stores every event and answers 202 without touching the registry: the registry retries a
    refused delivery forever and holds every later event behind it (PROTOCOL.md §3)."""
    if request.method != "POST":
        response = HttpResponse(status=405)
        response["Allow"] = "POST"
        return response
    ok, message = _authorized(request)
    if not ok:
        return _unauthorized(message)
    limit = int(option("limits.max_body_bytes"))
    if _too_large(request, limit):
        return JsonResponse({"errors": [{"code": "TOO_LARGE", "message": f"At most {limit} bytes."}]}, status=413)
    body = request.read(limit + 1)
    if len(body) > limit:
        return JsonResponse({"errors": [{"code": "TOO_LARGE", "message": f"At most {limit} bytes."}]}, status=413)
    rows = inbox.rows_from_body(body, content_type=request.content_type or "")
    inbox.store(rows)
    return JsonResponse({"received": len(rows)}, status=202)
