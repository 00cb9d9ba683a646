"""Writes of webhooks: create, update, delete, rotate the signing secret. The callers (UI, API) asked the
policy (namespaces.policy.can_manage_webhooks) first; inputs are checked here, for both."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from activities.services import activity_record
from hooks import crypto
from hooks.models import Webhook
from hooks.targets import TargetRefused, validate_url

SECRET_PREFIX = "whsec_"
MAX_HEADERS = 10
MAX_HEADER_NAME = 64
MAX_HEADER_VALUE = 1024
MAX_WEBHOOKS_PER_NAMESPACE = 20
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
# Headers the sender sets itself, or that would change how the request is framed or routed.
FORBIDDEN_HEADERS = {
    "host", "content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "te", "trailer",
    "upgrade", "expect", "proxy-authorization", "proxy-authenticate", "proxy-connection", "user-agent",
}
FORBIDDEN_PREFIXES = ("x-portus-", "proxy-", "sec-")


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def clean_headers(raw: object) -> list[tuple[str, str]]:
    """Custom headers from a list of [name, value] pairs, a {name: value} object, or "Name: value" lines.
    Raises ValidationError naming the first problem."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        if len(raw) > MAX_HEADERS * (MAX_HEADER_NAME + MAX_HEADER_VALUE + 4):
            raise ValidationError("Too much header text.")
        pairs = []
        for line in raw.splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise ValidationError(f"Write each header as Name: value ({line[:40]!r} has no colon).")
            pairs.append((name.strip(), value.strip()))
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list | tuple):
        pairs = []
        for item in raw:
            if isinstance(item, dict) and set(item) <= {"name", "value"}:
                pairs.append((item.get("name"), item.get("value")))
            elif isinstance(item, list | tuple) and len(item) == 2:
                pairs.append((item[0], item[1]))
            else:
                raise ValidationError("Give each header as {\"name\": …, \"value\": …}.")
            if len(pairs) > MAX_HEADERS:
                break
    else:
        raise ValidationError("Give the headers as a list of {\"name\", \"value\"} objects.")
    if len(pairs) > MAX_HEADERS:
        raise ValidationError(f"At most {MAX_HEADERS} headers.")
    seen: set[str] = set()
    cleaned = []
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValidationError("Header names and values are text.")
        if not _TOKEN.fullmatch(name):
            raise ValidationError(f"{name[:40]!r} is not a header name (letters, digits and -, at most "
                                  f"{MAX_HEADER_NAME} characters).")
        lower = name.lower()
        if lower in FORBIDDEN_HEADERS or lower.startswith(FORBIDDEN_PREFIXES):
            raise ValidationError(f"The header {name} is set by Portus, or changes how the request travels: "
                                  "it cannot be set.")
        if lower in seen:
            raise ValidationError(f"The header {name} is given twice.")
        seen.add(lower)
        if len(value) > MAX_HEADER_VALUE:
            raise ValidationError(f"The value of {name} is longer than {MAX_HEADER_VALUE} characters.")
        if any(ord(c) < 32 and c != "\t" or ord(c) == 127 or ord(c) > 255 for c in value):
            raise ValidationError(f"The value of {name} may hold printable Latin-1 characters only.")
        cleaned.append((name, value))
    return cleaned


def clean_url(url: object) -> str:
    if not isinstance(url, str):
        raise ValidationError({"url": "Enter a URL."})
    try:
        validate_url(url.strip())
    except TargetRefused as exc:
        raise ValidationError({"url": str(exc)}) from None
    return url.strip()


@dataclass
class WebhookInput:
    """What a form or the API gives; None leaves a field as it is (on update)."""

    url: str | None = None
    name: str | None = None
    request_method: str | None = None
    content_type: str | None = None
    payload_format: str | None = None
    username: str | None = None
    password: str | None = None  # "" clears it
    headers: list[tuple[str, str]] | None = None  # [] clears them
    enabled: bool | None = None
    on_push: bool | None = None
    on_delete: bool | None = None
    on_pull: bool | None = None


def _apply(webhook: Webhook, data: WebhookInput) -> None:
    for field in ("name", "request_method", "content_type", "payload_format", "username", "enabled", "on_push",
                  "on_delete", "on_pull"):
        value = getattr(data, field)
        if value is not None:
            setattr(webhook, field, value)
    if data.url is not None:
        webhook.url = clean_url(data.url)
    if data.password is not None:
        webhook.password_encrypted = crypto.encrypt(data.password)
    if not webhook.username:
        webhook.password_encrypted = ""
    if data.headers is not None:
        headers = clean_headers(data.headers)
        webhook.headers_encrypted = crypto.encrypt(json.dumps(headers)) if headers else ""
        webhook.header_names = [name for name, _ in headers]
    if webhook.request_method not in Webhook.Method.values:
        raise ValidationError({"request_method": "Choose GET or POST."})
    if webhook.content_type not in Webhook.ContentType.values:
        raise ValidationError({"content_type": "Choose application/json or application/x-www-form-urlencoded."})
    if webhook.payload_format not in Webhook.Format.values:
        raise ValidationError({"payload_format": "Choose portus, cloudevents or slack."})
    if webhook.payload_format == Webhook.Format.CLOUDEVENTS and (
            webhook.content_type != Webhook.ContentType.JSON or webhook.request_method != Webhook.Method.POST):
        raise ValidationError({"payload_format": "CloudEvents are sent as a JSON body: choose POST and JSON."})
    if "authorization" in {n.lower() for n in webhook.header_names} and webhook.username:
        raise ValidationError({"headers": "An Authorization header and a username cannot both be set."})
    if len(webhook.name) > 100:
        raise ValidationError({"name": "At most 100 characters."})
    if len(webhook.username) > 255 or ":" in webhook.username:
        raise ValidationError({"username": "At most 255 characters, and no colon."})


@transaction.atomic
def webhook_create(*, namespace, data: WebhookInput, by) -> tuple[Webhook, str]:
    """Returns the webhook and its signing secret, which is shown this once."""
    if data.url is None:
        raise ValidationError({"url": "Enter a URL."})
    if namespace.webhooks.count() >= MAX_WEBHOOKS_PER_NAMESPACE:
        raise ValidationError({"url": f"A namespace has at most {MAX_WEBHOOKS_PER_NAMESPACE} webhooks."})
    secret = generate_secret()
    webhook = Webhook(namespace=namespace, created_by=by if getattr(by, "pk", None) else None,
                      secret_encrypted=crypto.encrypt(secret), secret_hint=secret[:10],
                      secret_rotated_at=timezone.now())
    _apply(webhook, data)
    webhook.save()
    activity_record(key="webhook.create", owner=by, target=namespace, namespace=namespace,
                    parameters={"webhook": webhook.pk, "url": webhook.url[:200]})
    return webhook, secret


@transaction.atomic
def webhook_update(*, webhook: Webhook, data: WebhookInput, by) -> Webhook:
    _apply(webhook, data)
    webhook.save()
    activity_record(key="webhook.update", owner=by, target=webhook.namespace, namespace=webhook.namespace,
                    parameters={"webhook": webhook.pk, "url": webhook.url[:200]})
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook, by) -> None:
    namespace = webhook.namespace
    activity_record(key="webhook.delete", owner=by, target=namespace, namespace=namespace,
                    parameters={"webhook": webhook.pk, "url": webhook.url[:200]})
    webhook.delete()


@transaction.atomic
def webhook_secret_rotate(*, webhook: Webhook, by) -> str:
    """A new signing secret, used from the next attempt on; returned to be shown once."""
    secret = generate_secret()
    webhook.secret_encrypted, webhook.secret_hint = crypto.encrypt(secret), secret[:10]
    webhook.secret_rotated_at = timezone.now()
    webhook.save(update_fields=["secret_encrypted", "secret_hint", "secret_rotated_at", "updated_at"])
    activity_record(key="webhook.rotate_secret", owner=by, target=webhook.namespace, namespace=webhook.namespace,
                    parameters={"webhook": webhook.pk})
    return secret
