"""What a registry event's log lines say about it, so one push can be followed through the logs."""

from __future__ import annotations

from typing import Any

from mirror.models import Event


def registry_request_id(event: Event) -> str:
    """The id of the registry's own request that made the event (`request.id`; in the registry's log as
    `http.request.id`), or ''. A row the inbox has just made knows it from its parse."""
    known = getattr(event, "known_registry_request_id", None)
    if known is not None:
        return known
    payload = event.payload
    request = payload.get("request") if isinstance(payload, dict) else None
    value = request.get("id") if isinstance(request, dict) else None
    return value[:100] if isinstance(value, str) else ""


def event_fields(event: Event) -> dict[str, Any]:
    fields: dict[str, Any] = {"event_id": event.event_id[:100], "registry_request_id": registry_request_id(event),
                              "action": event.action, "repository": event.repository[:200]}
    if event.tag:
        fields["tag"] = event.tag
    if event.digest:
        fields["digest"] = event.digest[:100]
    if event.actor:
        fields["actor"] = event.actor[:64]
    return fields
