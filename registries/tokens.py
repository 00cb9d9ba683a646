"""The internal account's tokens for the registry client: minted by the realm (which plugs its minter in
when Django starts, realm/apps.py: the client sits below the realm and never imports it), kept per
(registry, host name, exact scope) in a bounded cache, and the groups of repositories one pull token
covers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from registries.errors import RegistryAuthError
from registries.models import Registry

# A token is used until this many seconds before it expires (at least ten seconds of it).
_TOKEN_MARGIN_SECONDS = 30

# token cache: (registry id, its host name, scope) → (token, monotonic expiry). Scopes come from this
# module's own methods (one per repository read), and expired entries are swept on insertion.
_tokens: dict[tuple[int, str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()
_MAX_CACHED_TOKENS = 1000


TokenMinter = Callable[[Registry, str], tuple[str, int]]  # (registry, exact scope) → (JWT, lifetime in s)
_minter: TokenMinter | None = None


def use_token_minter(minter: TokenMinter | None) -> None:
    global _minter
    _minter = minter


def forget_tokens() -> None:
    with _tokens_lock:
        _tokens.clear()


def repository_scope(name: str, actions: str) -> str:
    return f"repository:{name}:{actions}"


# One token may carry many repositories' pull scopes (Distribution reads every entry of `access`), so a
# sync mints one per group instead of one per repository. A group is bounded twice: by the realm's own
# limit on resources per token, and by the scopes' length, so that the token (its x5c certificate takes
# ~2 KB, each entry ~1.4 times its JSON) stays under 8 KB: what a proxy in front of the registry accepts
# in one header line by default (nginx's large_client_header_buffers).
MAX_SHARED_SCOPES = 64
MAX_SHARED_SCOPE_BYTES = 3200


def pull_groups(names: list[str], *, max_count: int = MAX_SHARED_SCOPES) -> list[list[str]]:
    """`names` cut, in order, into groups that one pull token can cover (see MAX_SHARED_SCOPE_BYTES),
    of at most `max_count` names."""
    max_count = max(1, min(max_count, MAX_SHARED_SCOPES))
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for name in names:
        cost = len(name) + 45  # {"type":"repository","name":"…","actions":["pull"]},
        if current and (len(current) >= max_count or size + cost > MAX_SHARED_SCOPE_BYTES):
            groups.append(current)
            current, size = [], 0
        current.append(name)
        size += cost
    if current:
        groups.append(current)
    return groups


def mint(registry: Registry, scope: str) -> tuple[str, float]:
    """A new token of the internal account for `scope` (one or several space-separated scopes) at
    `registry`, and the monotonic time until which to use it. Not cached: see `remember`."""
    if _minter is None:
        raise RegistryAuthError("nothing mints the internal account's tokens: the realm app is not installed")
    token, lifetime = _minter(registry, scope)
    return token, time.monotonic() + max(lifetime - _TOKEN_MARGIN_SECONDS, 10)


def remember(registry: Registry, scope: str, token: str, expiry: float) -> None:
    """Keeps a token for (registry, its host name, scope); past the bound, expired entries go first,
    else all."""
    now = time.monotonic()
    with _tokens_lock:
        if len(_tokens) >= _MAX_CACHED_TOKENS:
            for key in [key for key, (_, until) in _tokens.items() if until <= now] or list(_tokens):
                del _tokens[key]
        _tokens[(registry.pk, registry.hostname, scope)] = (token, expiry)


def remembered(registry: Registry, scope: str) -> tuple[str, float] | None:
    return _tokens.get((registry.pk, registry.hostname, scope))
