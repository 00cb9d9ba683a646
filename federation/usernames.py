"""A Portus user name from what a provider says: safe for the name grammar, never someone else's."""

from __future__ import annotations

import re
import secrets
import unicodedata

from portus.names import is_valid_component

MAX_BASE = 40
_NOT_NAME = re.compile(r"[^a-z0-9]+")


def normalize(raw: str) -> str:
    """`Zoë.O'Brien@x` → `zoe-o-brien`: ASCII letters and digits joined by single dashes (always valid)."""
    ascii_only = unicodedata.normalize("NFKD", raw[:200]).encode("ascii", "ignore").decode("ascii").lower()
    return _NOT_NAME.sub("-", ascii_only).strip("-")[:MAX_BASE].strip("-")


def base_name(*, login: str, email: str, name: str) -> str:
    for raw in (login, email.partition("@")[0], name):
        candidate = normalize(raw or "")
        if candidate and is_valid_component(candidate):
            return candidate
    return "user"


def candidates(base: str, *, tries: int = 12):
    """base, base-2, … base-6, then a few with a random suffix: bounded, and a squatter of the whole
    sequence cannot block a sign-up."""
    yield base
    for n in range(2, 7):
        yield f"{base}-{n}"
    for _ in range(tries - 6):
        yield f"{base}-{secrets.token_hex(3)}"
