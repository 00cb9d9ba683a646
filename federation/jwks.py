"""The signing keys of OpenID issuers: discovery, then the JWKS, kept per issuer for a while.

Only issuers named in the configuration (keyless.issuers, the login providers) are ever fetched, so the
cache has as many entries as the configuration has issuers, whatever clients send. A token naming a key
(`kid`) the cache does not hold makes one new read of that issuer's keys at most every
`keyless.jwks_refetch_seconds`: a stream of tokens with made-up kids costs no more than that. Reads are
bounded in time and size.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field

import jwt
import requests

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 256 * 1024
MAX_KEYS = 64
TIMEOUT_SECONDS = 5


class KeysUnavailable(Exception):
    """The issuer's keys could not be read (network, bad document); the message says which."""


@dataclass(frozen=True)
class IssuerKey:
    public_key: object  # a cryptography public key
    kty: str
    alg: str  # "" when the JWKS does not name one


@dataclass
class _Entry:
    keys: dict[str, IssuerKey] = field(default_factory=dict)  # kid ("" for a key without one) → key
    fetched_at: float = 0.0
    attempted_at: float = 0.0


_lock = threading.Lock()
_entries: dict[str, _Entry] = {}


def _get_json(session: requests.Session, url: str) -> dict:
    try:
        with session.get(url, timeout=TIMEOUT_SECONDS, stream=True, allow_redirects=False,
                         headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise KeysUnavailable(f"{url} answered {response.status_code}")
            body = response.raw.read(MAX_DOCUMENT_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise KeysUnavailable(f"{url} could not be read: {type(exc).__name__}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise KeysUnavailable(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise KeysUnavailable(f"{url} is not JSON") from None
    if not isinstance(data, dict):
        raise KeysUnavailable(f"{url} is not a JSON object")
    return data


def fetch_keys(issuer: str) -> dict[str, IssuerKey]:
    """Reads discovery and the JWKS of `issuer` (no cache)."""
    session = requests.Session()
    session.trust_env = False
    discovery = _get_json(session, issuer.rstrip("/") + "/.well-known/openid-configuration")
    if discovery.get("issuer") != issuer:
        raise KeysUnavailable(f"the discovery document of {issuer} names another issuer")
    jwks_uri = discovery.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
        raise KeysUnavailable(f"the discovery document of {issuer} has no jwks_uri")
    document = _get_json(session, jwks_uri)
    raw_keys = document.get("keys")
    if not isinstance(raw_keys, list):
        raise KeysUnavailable(f"{jwks_uri} holds no keys")
    keys: dict[str, IssuerKey] = {}
    for raw in raw_keys[:MAX_KEYS]:
        if not isinstance(raw, dict) or raw.get("use", "sig") != "sig" or "d" in raw or raw.get("kty") == "oct":
            continue  # encryption keys, private or symmetric keys have no place in a JWKS we verify with
        try:
            key = jwt.PyJWK(raw)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError):
            continue
        keys[str(raw.get("kid", ""))[:200]] = IssuerKey(key.key, str(raw.get("kty")), str(raw.get("alg", "")))
    return keys


def key_for(issuer: str, kid: str, *, ttl: float, refetch_every: float) -> IssuerKey | None:
    """The issuer's key named `kid`, from the cache, or read again when it is stale or the kid unknown
    (then at most once per `refetch_every` seconds). None: the issuer has no such key."""
    now = time.monotonic()
    with _lock:
        entry = _entries.setdefault(issuer, _Entry())
        fresh = entry.fetched_at and now - entry.fetched_at < ttl
        if fresh and kid in entry.keys:
            return entry.keys[kid]
        if fresh and now - entry.attempted_at < refetch_every:
            return None
        if not fresh and entry.attempted_at and now - entry.attempted_at < min(refetch_every, 5) and entry.keys:
            return entry.keys.get(kid)  # a failed read moments ago: keep the stale keys a little
        entry.attempted_at = now
    try:
        keys = fetch_keys(issuer)
    except KeysUnavailable as exc:
        log.warning("keys of %s unavailable: %s", issuer, exc)
        with _lock:
            if entry.keys and now - entry.fetched_at < 2 * ttl:
                return entry.keys.get(kid)  # the last good copy, for one more period
        raise
    with _lock:
        entry.keys, entry.fetched_at = keys, time.monotonic()
    return keys.get(kid)


def forget(issuer: str | None = None) -> None:
    with _lock:
        if issuer is None:
            _entries.clear()
        else:
            _entries.pop(issuer, None)
