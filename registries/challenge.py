"""A registry's `WWW-Authenticate` challenge, parsed in linear time whatever the header holds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Possessive quantifiers: the spaces around `=` and an unquoted value can never trade characters, so a
# hostile header costs linear time. Longer headers than any registry sends are not read at all.
_CHALLENGE_PARAM_RE = re.compile(r'\s*+([A-Za-z0-9_.-]++)\s*+=\s*+("(?:[^"\\]|\\.)*+"|[^,\s]*+)\s*+(?:,|\Z)')
MAX_CHALLENGE_LENGTH = 8192


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lowercased: "bearer", "basic"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scope(self) -> str:
        return self.params.get("scope", "")


def parse_challenge(header: str) -> Challenge | None:
    """`Bearer realm="…",service="…",scope="repository:a/b:pull,push"` → Challenge. Quoted values may hold
    commas and escaped quotes; unquoted ones end at a comma."""
    header = (header or "").strip()
    scheme, _, rest = header.partition(" ")
    if not scheme or len(header) > MAX_CHALLENGE_LENGTH:
        return None
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _CHALLENGE_PARAM_RE.match(rest, position)
        if match is None or match.end() == position:
            break
        key, value = match.group(1).lower(), match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params.setdefault(key, value)
        position = match.end()
    return Challenge(scheme=scheme.lower(), params=params)
