"""Claims of a registry token and the JSON body of a token-endpoint answer (PROTOCOL.md §2)."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

MIN_LIFETIME_SECONDS = 60  # clients treat any shorter `expires_in` as 60 and reuse the token that long
NOT_BEFORE_LEEWAY_SECONDS = 5


def effective_lifetime(lifetime_seconds: int) -> int:
    """The lifetime a token really gets: at least MIN_LIFETIME_SECONDS."""
    return max(MIN_LIFETIME_SECONDS, int(lifetime_seconds))


def grants_push(access: list[dict[str, Any]]) -> bool:
    """Whether a token's `access` lets it upload (push, or `*` which includes it)."""
    return any({"push", "*"} & set(entry.get("actions", ())) for entry in access)


def lifetime_seconds(access: list[dict[str, Any]], *, minutes: int, push_minutes: int = 0) -> int:
    """The lifetime of a token with this `access`: `push_minutes` when it grants push and that is set
    (`registry.jwt_expiration_time_push`: uploads outlast short tokens), else `minutes`."""
    chosen = push_minutes if push_minutes and grants_push(access) else minutes
    return effective_lifetime(int(chosen) * 60)


def build_claims(
    *,
    issuer: str,
    subject: str,
    audience: str,
    access: list[dict[str, Any]],
    lifetime_seconds: int,
    now: float | None = None,
) -> dict[str, Any]:
    """The JWT claims: integer times (`nbf` a few seconds early, `exp` at least 60 s after `iat`),
    `aud` as a string (Distribution 2.8 rejects an array) and a random `jti`."""
    if not isinstance(audience, str):
        raise TypeError("audience must be a string")
    issued = int(time.time() if now is None else now)
    return {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": issued + effective_lifetime(lifetime_seconds),
        "nbf": issued - NOT_BEFORE_LEEWAY_SECONDS,
        "iat": issued,
        "jti": secrets.token_urlsafe(24),
        "access": list(access),
    }


def rfc3339(moment: datetime) -> str:
    """`2024-05-01T10:00:00Z`: UTC, whole seconds; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def token_response(
    token: str, *, lifetime_seconds: int, issued_at: datetime, refresh_token: str | None = None
) -> dict[str, Any]:
    """The 200 body: `token` and `access_token` (same value), integer `expires_in` ≥ 60, RFC 3339
    `issued_at`, and `refresh_token` only when one is given."""
    body: dict[str, Any] = {
        "token": token,
        "access_token": token,
        "expires_in": effective_lifetime(lifetime_seconds),
        "issued_at": rfc3339(issued_at),
    }
    if refresh_token:
        body["refresh_token"] = refresh_token
    return body
