"""The `scope` parameter of the token endpoint: Distribution's scope grammar, parsed without ever raising."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from portus.names import MAX_NAME_LENGTH, is_valid_reference_name

ACTIONS = frozenset({"pull", "push", "delete", "*"})
_MAX_PIECE_LENGTH = 1024  # type + name + actions; anything longer is garbage.
_TYPE_RE = re.compile(r"([a-z0-9]+)(?:\(([a-z0-9]+)\))?")


@dataclass(frozen=True)
class ResourceScope:
    """One requested resource: `repository(plugin):foo/bar:pull,push` → type, name, actions, klass."""

    type: str
    name: str
    actions: frozenset[str]
    klass: str = ""

    def __str__(self) -> str:
        kind = f"{self.type}({self.klass})" if self.klass else self.type
        return f"{kind}:{self.name}:{','.join(sorted(self.actions))}"


def _parse_one(piece: str) -> ResourceScope | None:
    if len(piece) > _MAX_PIECE_LENGTH or not (piece.isascii() and piece.isprintable()):
        return None
    kind, sep, rest = piece.partition(":")
    name, sep2, action_list = rest.rpartition(":")
    if not (sep and sep2 and name) or len(name) > MAX_NAME_LENGTH:
        return None
    match = _TYPE_RE.fullmatch(kind)
    if match is None:
        return None
    type_, klass = match.group(1), match.group(2) or ""
    if type_ == "repository":
        if not is_valid_reference_name(name):
            return None
    elif type_ == "registry":
        if klass or name != "catalog":
            return None
    else:
        return None
    actions = frozenset(a for a in action_list.split(",") if a in ACTIONS)
    if not actions:
        return None
    return ResourceScope(type=type_, name=name, actions=actions, klass=klass)


MAX_SCOPES = 64  # distinct resources in one request; real clients ask for 1 to 3
MAX_SCOPE_PIECES = 4 * MAX_SCOPES  # space-separated pieces, duplicates and invalid ones included
_PIECE_RE = re.compile(r"[^ ]+")


class TooManyScopes(ValueError):
    """A request names more scopes than any real client does; the message says the limit."""


def parse_scopes(values: Iterable[str]) -> list[ResourceScope]:
    """Every valid resource scope in `values` (each may hold several, space-separated), merged per
    (type, name, class) by uniting actions, in first-seen order. Invalid pieces are dropped.

    Raises TooManyScopes (and nothing else) past MAX_SCOPE_PIECES pieces or MAX_SCOPES resources,
    having read no further than that: a request with 50,000 pieces costs what one with 257 does."""
    merged: dict[tuple[str, str, str], set[str]] = {}
    pieces = 0
    for value in values:
        if not isinstance(value, str):
            continue
        for match in _PIECE_RE.finditer(value):
            pieces += 1
            if pieces > MAX_SCOPE_PIECES:
                raise TooManyScopes(f"At most {MAX_SCOPE_PIECES} scope pieces may be asked for at once.")
            scope = _parse_one(match.group())
            if scope is not None:
                merged.setdefault((scope.type, scope.name, scope.klass), set()).update(scope.actions)
                if len(merged) > MAX_SCOPES:
                    raise TooManyScopes(f"At most {MAX_SCOPES} resources may be asked for in one token.")
    return [
        ResourceScope(type=type_, name=name, actions=frozenset(actions), klass=klass)
        for (type_, name, klass), actions in merged.items()
    ]


def format_access(scope: ResourceScope, granted_actions: Iterable[str]) -> dict[str, object]:
    """The JWT `access` entry for `scope` carrying exactly `granted_actions` (deduplicated, sorted)."""
    entry: dict[str, object] = {
        "type": scope.type,
        "name": scope.name,
        "actions": sorted(set(granted_actions)),
    }
    if scope.klass:
        entry["class"] = scope.klass
    return entry
