"""Tag-name patterns of retention rules: shell-style globs, matched in linear time, never a user regex.

Syntax: `*` any run of characters (also none), `?` exactly one character, `[abc]`, `[a-z0-9]` and
`[!abc]` one character of (or not of) a set; every other character stands for itself. A pattern matches
the whole tag name (`v1.*` matches `v1.2`, not `xv1.2`).

Why not regular expressions: Python's `re` backtracks, and a rule's pattern is typed by a namespace owner,
so `(a*)*b` would let one user stall the background process. A glob is compiled into a list of tokens and
matched by simulating all positions at once (the set of pattern positions reachable after each character,
a Thompson-style NFA without backtracking): at most len(tag) × len(pattern) steps, and both are bounded
(128 characters, Distribution's own limit for a tag name), so no input takes more than ~16k steps.

Portus's option `delete.garbage_collector.tag` was a Ruby regular expression. It is read here only in the
subset that has an exact glob (`from_portus_regex`); anything else is refused with a message saying so,
rather than run by a backtracking engine or silently read as something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

MAX_PATTERN_LENGTH = 128
MAX_PATTERNS = 20
# What a tag may hold (Distribution's grammar) plus the glob's own signs.
_ALLOWED = re.compile(r"[A-Za-z0-9_.\-*?\[\]!]*")


class PatternError(ValueError):
    """A pattern this service will not run; the message says why, for the form or the API answer."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "lit", "one", "star", "set"
    char: str = ""
    negate: bool = False
    ranges: tuple[tuple[str, str], ...] = ()

    def accepts(self, c: str) -> bool:
        if self.kind == "lit":
            return c == self.char
        if self.kind in ("one", "star"):
            return True
        inside = any(low <= c <= high for low, high in self.ranges)
        return inside != self.negate


def _parse_set(pattern: str, start: int) -> tuple[_Token, int]:
    """The set starting at pattern[start] == '['; returns it and the index after its ']'."""
    i = start + 1
    negate = i < len(pattern) and pattern[i] == "!"
    if negate:
        i += 1
    ranges: list[tuple[str, str]] = []
    first = True
    while i < len(pattern) and (pattern[i] != "]" or first):
        first = False
        low = pattern[i]
        if i + 2 < len(pattern) and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            high = pattern[i + 2]
            if high < low:
                raise PatternError(f"{pattern!r}: the range {low}-{high} is backwards")
            ranges.append((low, high))
            i += 3
        else:
            ranges.append((low, low))
            i += 1
    if i >= len(pattern):
        raise PatternError(f"{pattern!r}: a '[' is not closed by ']'")
    return _Token("set", negate=negate, ranges=tuple(ranges)), i + 1


def validate(pattern: str) -> str:
    """The pattern, stripped, or PatternError saying what is wrong with it."""
    if not isinstance(pattern, str):
        raise PatternError("a pattern is text")
    pattern = pattern.strip()
    if not pattern:
        raise PatternError("a pattern may not be empty")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"a pattern has at most {MAX_PATTERN_LENGTH} characters")
    if not _ALLOWED.fullmatch(pattern):
        raise PatternError(f"{pattern[:40]!r}: use letters, digits, '_', '.', '-' and the signs * ? [ ] !")
    _compile(pattern)
    return pattern


def validate_list(patterns) -> list[str]:
    """A rule's list of patterns: each valid, at most MAX_PATTERNS, duplicates dropped, order kept."""
    if patterns is None:
        return []
    if isinstance(patterns, str):
        patterns = [p for p in re.split(r"[\s,]+", patterns) if p]
    if not isinstance(patterns, list | tuple):
        raise PatternError("patterns are a list of text")
    if len(patterns) > MAX_PATTERNS:
        raise PatternError(f"at most {MAX_PATTERNS} patterns")
    out: list[str] = []
    for pattern in patterns:
        clean = validate(pattern)
        if clean not in out:
            out.append(clean)
    return out


@lru_cache(maxsize=512)  # keyed by validated patterns only (≤128 characters), so the cache stays small
def _compile(pattern: str) -> tuple[_Token, ...]:
    tokens: list[_Token] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if not tokens or tokens[-1].kind != "star":  # `**` is `*`
                tokens.append(_Token("star"))
            i += 1
        elif c == "?":
            tokens.append(_Token("one"))
            i += 1
        elif c == "[":
            token, i = _parse_set(pattern, i)
            tokens.append(token)
        elif c == "]":
            raise PatternError(f"{pattern!r}: a ']' without its '['")
        else:
            tokens.append(_Token("lit", char=c))
            i += 1
    return tuple(tokens)


def _closure(tokens: tuple[_Token, ...], states: set[int]) -> set[int]:
    """Adds the positions after each `*` reached (a star may match nothing)."""
    out = set(states)
    stack = list(states)
    while stack:
        position = stack.pop()
        if position < len(tokens) and tokens[position].kind == "star" and position + 1 not in out:
            out.add(position + 1)
            stack.append(position + 1)
    return out


def matches(pattern: str, name: str) -> bool:
    """Does the glob match the whole name? Linear in len(name) for a given pattern (see the module)."""
    tokens = _compile(pattern)
    states = _closure(tokens, {0})
    for c in name:
        following: set[int] = set()
        for position in states:
            if position >= len(tokens):
                continue
            token = tokens[position]
            if token.accepts(c):
                following.add(position if token.kind == "star" else position + 1)
        if not following:
            return False
        states = _closure(tokens, following)
    return len(tokens) in states


def first_match(patterns: list[str], name: str) -> str | None:
    """The first pattern of the list that matches the name, or None."""
    return next((p for p in patterns if matches(p, name)), None)


# --- Portus's `delete.garbage_collector.tag` ---------------------------------------------------------

_REGEX_ESCAPES = set(".-_")


def from_portus_regex(regex: str) -> list[str]:
    """Portus's tag regex as globs, exactly: `^`, `$`, literals (`\\.` for a dot), `.` (one character),
    `.*`, `[...]` sets and top-level `|`; unanchored sides get a `*` (Ruby's `=~` searches). Anything
    else (groups, `+`, `{n}`, …) raises PatternError, naming the option."""
    regex = (regex or "").strip()
    if not regex:
        return []
    if len(regex) > MAX_PATTERN_LENGTH:
        raise PatternError(f"delete.garbage_collector.tag: at most {MAX_PATTERN_LENGTH} characters")
    globs = []
    for branch in regex.split("|"):
        glob = _branch_to_glob(branch)
        globs.append(validate(glob))
    return validate_list(globs)


def _branch_to_glob(branch: str) -> str:
    unsupported = PatternError(
        f"delete.garbage_collector.tag: {branch[:60]!r} uses regular-expression features that retention does "
        "not run; write the instance rule's include patterns as globs instead (README, Tag retention)")
    anchored_start, anchored_end = branch.startswith("^"), branch.endswith("$") and not branch.endswith("\\$")
    body = branch[1 if anchored_start else 0: len(branch) - (1 if anchored_end else 0)]
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _REGEX_ESCAPES:
                raise unsupported
            out.append(body[i + 1])
            i += 2
        elif c == ".":
            if body[i + 1: i + 2] == "*":
                out.append("*")
                i += 2
            else:
                out.append("?")
                i += 1
        elif c == "[":
            end = body.find("]", i + 2)
            if end < 0 or body[i + 1: i + 2] == "!":
                raise unsupported
            inner = body[i + 1: end]
            out.append("[!" + inner[1:] + "]" if inner.startswith("^") else "[" + inner + "]")
            i = end + 1
        elif c.isalnum() or c in "_-":
            out.append(c)
            i += 1
        else:
            raise unsupported
    glob = "".join(out)
    if not anchored_start:
        glob = "*" + glob
    if not anchored_end:
        glob += "*"
    return glob or "*"
