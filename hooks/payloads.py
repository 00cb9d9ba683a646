"""What a webhook sends: the event (Portus JSON, CloudEvents 1.0 or Slack text), its encoding, its signature.

The event, as documented in the README ("Outbound webhooks"):
    {"id", "event": "push" | "delete" | "pull" | "ping", "time", "registry", "namespace", "repository",
     "tag", "digest", "media_type", "size", "platforms": [{"os", "architecture", "variant", "digest",
     "size"}], "actor", "pull_reference"}
Empty strings where a field does not apply (a delete by digest has no tag).

Signature: `X-Portus-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + signed bytes)>` with
`X-Portus-Timestamp: <unix seconds>`; the signed bytes are the body, or for GET the URL's query string
(which carries the payload). Receivers refuse timestamps older than their tolerance (5 minutes, the
README suggests) to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from portus.options import option

SIGNATURE_HEADER = "X-Portus-Signature"
TIMESTAMP_HEADER = "X-Portus-Timestamp"
EVENT_HEADER = "X-Portus-Event"
DELIVERY_HEADER = "X-Portus-Delivery"
CLOUDEVENTS_TYPE = "org.portus.image.{event}"
FIELDS = ("id", "event", "time", "registry", "namespace", "repository", "tag", "digest", "media_type", "size",
          "platforms", "actor", "pull_reference")
MAX_PLATFORMS = 64


def event_payload(*, event_id: str, event: str, time: str, registry: str, namespace: str, repository: str,
                  tag: str = "", digest: str = "", media_type: str = "", size: int = 0,
                  platforms: list[dict[str, Any]] | None = None, actor: str = "") -> dict[str, Any]:
    """The documented event; every field bounded (they come from the registry's notification)."""
    kept = []
    for platform in (platforms or [])[:MAX_PLATFORMS]:
        kept.append({key: str(platform.get(key) or "")[:255] for key in ("os", "architecture", "variant", "digest")}
                    | {"size": int(platform.get("size") or 0)})
    reference = f"{registry}/{repository}"
    if tag:
        reference += f":{tag}"
    elif digest:
        reference += f"@{digest}"
    return {
        "id": event_id, "event": event, "time": time, "registry": registry[:255], "namespace": namespace[:255],
        "repository": repository[:512], "tag": tag[:128], "digest": digest[:255], "media_type": media_type[:255],
        "size": max(int(size or 0), 0), "platforms": kept, "actor": actor[:255], "pull_reference": reference[:1024],
    }


def _slack_escape(text: str) -> str:
    # Slack's three control characters (its "mrkdwn" would otherwise read <…> as links and mentions).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(payload: dict[str, Any]) -> str:
    who = payload.get("actor") or "someone"
    what = payload.get("repository", "")
    if payload.get("tag"):
        what += f":{payload['tag']}"
    digest = payload.get("digest", "")
    short = f" ({digest[:19]}…)" if digest else ""
    verb = {"push": "pushed", "delete": "deleted", "pull": "pulled", "ping": "sent a test for"}.get(
        payload.get("event", ""), payload.get("event", ""))
    return _slack_escape(f"{who} {verb} {what}{short} on {payload.get('registry', '')}")


def document(payload: dict[str, Any], payload_format: str) -> dict[str, Any]:
    """The JSON document of one delivery in the webhook's format."""
    if payload_format == "slack":
        return {"text": slack_text(payload)}
    if payload_format == "cloudevents":
        subject = payload["repository"] + (f":{payload['tag']}" if payload.get("tag") else
                                           f"@{payload['digest']}" if payload.get("digest") else "")
        return {
            "specversion": "1.0",
            "id": payload["id"],
            "source": f"//{option('machine_fqdn.value')}/namespaces/{payload['namespace'] or '_global'}",
            "type": CLOUDEVENTS_TYPE.format(event=payload["event"]),
            "subject": subject,
            "time": payload["time"],
            "datacontenttype": "application/json",
            "data": payload,
        }
    return payload


def encode(payload: dict[str, Any], *, payload_format: str, content_type: str, method: str,
           ) -> tuple[bytes, str, str]:
    """(body, Content-Type, query string) of one delivery. JSON bodies are UTF-8; a form body, and the
    query string of a GET, carry the JSON as one field `payload` (as GitHub and Slack read it)."""
    text = json.dumps(document(payload, payload_format), ensure_ascii=False, separators=(",", ":"))
    if method == "GET":
        return b"", "", urlencode({"payload": text})
    if content_type == "application/x-www-form-urlencoded":
        return urlencode({"payload": text}).encode("ascii"), content_type, ""
    kind = "application/cloudevents+json" if payload_format == "cloudevents" else "application/json"
    return text.encode("utf-8"), f"{kind}; charset=utf-8", ""


def signature(secret: str, timestamp: int, signed: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + signed, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
