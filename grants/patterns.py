"""Repository name patterns of grants: an exact name or a glob (`app/*`, `team-?/web`), matched in linear
time without regular expressions, and translated to SQL LIKE for querysets.

`*` matches any run of characters, slashes included (`app/*` matches `app/web` and `app/web/nightly`);
`?` matches one character. Nothing else is special. A pattern is made of the characters of repository
names plus `*` and `?`, at most MAX_PATTERN_LENGTH long, and at most MAX_STARS stars.
"""

from __future__ import annotations

import string

from django.core.exceptions import ValidationError

MAX_PATTERN_LENGTH = 255
MAX_STARS = 8
NAME_CHARACTERS = frozenset(string.ascii_lowercase + string.digits + "._-/")
WILDCARDS = frozenset("*?")
# LIKE's escape character: not a repository name character, so nothing in a name needs it but `_` and itself.
LIKE_ESCAPE = "!"


def validate_pattern(pattern: str) -> str:
    """The pattern, or a ValidationError saying what is wrong with it."""
    if not isinstance(pattern, str) or not pattern:
        raise ValidationError("Name a repository, or a pattern such as app/*.")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValidationError(f"A repository pattern has at most {MAX_PATTERN_LENGTH} characters.")
    bad = sorted({c for c in pattern if c not in NAME_CHARACTERS and c not in WILDCARDS})
    if bad:
        shown = "".join(c if c.isprintable() else "?" for c in bad[:5])
        raise ValidationError(f"A repository pattern uses lowercase letters, digits, '.', '_', '-', '/' and the "
                              f"wildcards * and ?; not {shown!r}.")
    if pattern.count("*") > MAX_STARS:
        raise ValidationError(f"A repository pattern has at most {MAX_STARS} '*'.")
    if pattern.startswith("/") or pattern.endswith("/") or "//" in pattern:
        raise ValidationError("A repository pattern does not start or end with '/' nor contain '//'.")
    return pattern


def is_pattern(pattern: str) -> bool:
    return any(c in WILDCARDS for c in pattern)


def matches(pattern: str, name: str) -> bool:
    """Whether `name` matches `pattern`: the greedy two-pointer glob match, O(len(pattern) × len(name)) at
    worst and never exponential (each star only ever restarts from the last star seen)."""
    if len(name) > 1024 or len(pattern) > MAX_PATTERN_LENGTH:
        return False
    p = n = 0
    star_p, star_n = -1, 0
    while n < len(name):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == name[n]):
            p += 1
            n += 1
        elif p < len(pattern) and pattern[p] == "*":
            star_p, star_n = p, n
            p += 1
        elif star_p >= 0:
            star_n += 1
            p, n = star_p + 1, star_n
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def like_pattern(pattern: str) -> str:
    """The SQL LIKE pattern (escape character LIKE_ESCAPE) that selects the same names as `matches`."""
    out = []
    for c in pattern:
        if c == "*":
            out.append("%")
        elif c == "?":
            out.append("_")
        elif c in ("_", "%", LIKE_ESCAPE):
            out.append(LIKE_ESCAPE + c)
        else:
            out.append(c)
    return "".join(out)
