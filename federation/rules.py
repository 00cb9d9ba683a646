"""The rule language of trust policies: which claims an ID token must carry for a robot to accept it.

    repository == "acme/app" and ref == "refs/heads/main"
    project_path == "acme/app" and ref_type == "branch" or ref =~ "refs/tags/v*"

A rule is terms joined by `and` and `or`; `and` binds tighter (no parentheses: a rule is a list of
alternatives, each a list of terms that must all hold). A term is `claim op "value"`:
`==` equal, `!=` different, `=~` glob (`*` any run of characters, `?` one character). Values are double
quoted, with `\\"` and `\\\\` as the only escapes. A missing claim, or one that is no string, number or
boolean, satisfies no term (not even `!=`): a token must carry what a rule speaks of.

Parsing is one left-to-right pass and matching a glob is a two-pointer scan, both bounded by the limits
below, so neither a stored rule nor a hostile token costs more than a few thousand steps. Each
alternative must pin something down (an `==` term, or a glob that does not start with a wildcard): a
rule like `sub =~ "*"` would admit every job of a public CI's users worldwide and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LENGTH = 1000
MAX_TERMS = 16
MAX_VALUE_LENGTH = 256
MAX_CLAIM_LENGTH = 64
OPERATORS = ("==", "!=", "=~")
_CLAIM_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_CLAIM_CHARS = _CLAIM_START | set("0123456789.:-")


class RuleError(ValueError):
    """A rule that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Term:
    claim: str
    op: str
    value: str

    def holds(self, claims: dict) -> bool:
        actual = claim_text(claims.get(self.claim))
        if actual is None:
            return False
        if self.op == "==":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        return glob_match(self.value, actual)

    def pins(self) -> bool:
        """Does this term narrow the tokens down on its own (see the module's docstring)?"""
        return self.op == "==" or (self.op == "=~" and bool(self.value) and self.value[0] not in "*?")


Rule = tuple[tuple[Term, ...], ...]  # alternatives (or) of conjunctions (and)


def claim_text(value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value[:4096]
    return None


def glob_match(pattern: str, text: str) -> bool:
    """`*` and `?` globbing by the greedy two-pointer scan: O(len(pattern) × len(text)) at worst, no regex."""
    p = t = 0
    star_p, star_t = -1, 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]) and pattern[p] != "*":
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star_p, star_t = p, t
            p += 1
        elif star_p >= 0:
            p = star_p + 1
            star_t += 1
            t = star_t
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def fail(self, why: str) -> RuleError:
        return RuleError(f"{why} at character {self.pos + 1}")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.text)

    def word(self) -> str:
        self.skip_space()
        start = self.pos
        if self.pos < len(self.text) and self.text[self.pos] in _CLAIM_START:
            self.pos += 1
            while self.pos < len(self.text) and self.text[self.pos] in _CLAIM_CHARS:
                self.pos += 1
        word = self.text[start:self.pos]
        if not word:
            raise self.fail("expected a claim name")
        if len(word) > MAX_CLAIM_LENGTH:
            raise self.fail(f"a claim name is at most {MAX_CLAIM_LENGTH} characters")
        return word

    def operator(self) -> str:
        self.skip_space()
        op = self.text[self.pos:self.pos + 2]
        if op not in OPERATORS:
            raise self.fail("expected ==, != or =~")
        self.pos += 2
        return op

    def string(self) -> str:
        self.skip_space()
        if self.text[self.pos:self.pos + 1] != '"':
            raise self.fail('expected a double-quoted value')
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                raise self.fail("unterminated value")
            char = self.text[self.pos]
            self.pos += 1
            if char == '"':
                break
            if char == "\\":
                escaped = self.text[self.pos:self.pos + 1]
                if escaped not in ('"', "\\"):
                    raise self.fail('only \\" and \\\\ may follow a backslash')
                char = escaped
                self.pos += 1
            elif char < " ":
                raise self.fail("control characters are not allowed in a value")
            out.append(char)
            if len(out) > MAX_VALUE_LENGTH:
                raise self.fail(f"a value is at most {MAX_VALUE_LENGTH} characters")
        return "".join(out)


def parse(text: str) -> Rule:
    """The rule, or RuleError saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise RuleError("A rule is needed, e.g. repository == \"acme/app\" and ref == \"refs/heads/main\"")
    if len(text) > MAX_LENGTH:
        raise RuleError(f"A rule is at most {MAX_LENGTH} characters long.")
    reader = _Reader(text)
    alternatives: list[tuple[Term, ...]] = []
    current: list[Term] = []
    count = 0
    while True:
        claim = reader.word()
        op = reader.operator()
        current.append(Term(claim, op, reader.string()))
        count += 1
        if count > MAX_TERMS:
            raise RuleError(f"A rule has at most {MAX_TERMS} terms.")
        if reader.at_end():
            break
        joiner = reader.word()
        if joiner == "or":
            alternatives.append(tuple(current))
            current = []
        elif joiner != "and":
            reader.pos -= len(joiner)
            raise reader.fail("expected `and` or `or`")
    alternatives.append(tuple(current))
    for number, alternative in enumerate(alternatives, 1):
        if not any(term.pins() for term in alternative):
            raise RuleError(f"Alternative {number} would match tokens of anyone at the issuer: give it an == "
                            "term, or a glob that does not start with a wildcard.")
    return tuple(alternatives)


def matches(rule: Rule, claims: dict) -> bool:
    return any(all(term.holds(claims) for term in alternative) for alternative in rule)


def explain(rule: Rule, claims: dict) -> str:
    """Which terms a token failed, for the refusal's message (claim names and expected values only:
    they come from the stored rule, not from the token)."""
    failed = []
    for alternative in rule:
        missed = [t for t in alternative if not t.holds(claims)]
        failed.append(" and ".join(format_term(t) for t in missed))
    return " or ".join(f"({f})" for f in failed[:4])


def format_term(term: Term) -> str:
    value = term.value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{term.claim} {term.op} "{value}"'


def format_rule(rule: Rule) -> str:
    return " or ".join(" and ".join(format_term(t) for t in alternative) for alternative in rule)
