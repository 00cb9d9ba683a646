"""What the token endpoint remembers between requests, each entry under the authorization generation it
was made at (realm/generation.py), which every request takes first: read, or from this process's read
sent less than `token_realm.generation_max_age_ms` ago.

- Verified credentials: an application token, or a local password that the hasher just accepted, under
  a keyed hash of (user name, secret). The entry lives until the token expires, or for the credential
  cache's `credential_cache.seconds` from the password check: what the credential cache would remember,
  no longer. Failures, LDAP and CI ID-token logins are never remembered here (their own caches and
  lifetimes apply).
- Refresh tokens found, under the token's own keyed hash (its stored digest), until the moment the look-up would stop
  finding them (their idle or lifetime end, an expiry), at most an hour.
- Decisions: the `access` list for (user, application-token scopes, registry, requested scopes).

A change to anything either reads changes the generation in the same transaction, so an entry is never
used by a request that starts that bound after such a change committed, on any worker or host (with 0:
never after it commits). Both tables are bounded (least
recently used out first), and keyed only by what a client sent through a keyed hash or by ids, so a
client cannot grow them beyond their bound. A settings change (tests) empties them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from portus.hashing import keyed_hash

MAX_CREDENTIALS = 4096
MAX_DECISIONS = 16384


class Remembered:
    """A bounded table of (generation, valid until, value) entries, least recently used out first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Any, tuple[int, float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, generation: int, now: float | None = None):
        now = time.time() if now is None else now
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] != generation or entry[1] <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[2]

    def put(self, key, generation: int, until: float, value) -> None:
        with self._lock:
            self._entries[key] = (generation, until, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


credentials = Remembered(MAX_CREDENTIALS)
decisions = Remembered(MAX_DECISIONS)


def credential_key(username: str, secret: str) -> str:
    return keyed_hash(f"{username}\x00{secret}", purpose="token-endpoint-credential")


def decision_key(user, token_actions: frozenset[str] | None, registry_id: int, scopes: list) -> tuple:
    return (getattr(user, "pk", None), token_actions, registry_id, tuple(scopes))


def forget_all(**_) -> None:
    credentials.clear()
    decisions.clear()
