"""The trust policies' rule language: parsing, matching, limits, and hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation import rules
from federation.rules import RuleError, Term

MAIN = {"repository": "acme/app", "ref": "refs/heads/main", "ref_type": "branch", "run_attempt": 2, "pr": False}


@pytest.mark.parametrize(("text", "expected"), [
    ('repository == "acme/app" and ref == "refs/heads/main"', True),
    ('repository == "acme/app" and ref == "refs/heads/dev"', False),
    ('repository == "acme/app" and ref != "refs/heads/dev"', True),
    ('repository == "other/app" or ref =~ "refs/heads/*"', True),
    ('repository =~ "acme/*" and ref =~ "refs/tags/v*"', False),
    ('repository == "acme/app" and run_attempt == "2" and pr == "false"', True),
    ('repository == "acme/app" and missing != "x"', False),  # a missing claim satisfies nothing
    ('repository == "x" or repository == "y" or repository == "acme/app"', True),
    ('repository=="acme/app"and ref=~"refs/heads/m?in"', True),
])
def test_matching(text, expected):
    assert rules.matches(rules.parse(text), MAIN) is expected


def test_and_binds_tighter_than_or():
    parsed = rules.parse('repository == "a" and ref == "b" or repository == "acme/app"')
    assert parsed == ((Term("repository", "==", "a"), Term("ref", "==", "b")), (Term("repository", "==", "acme/app"),))


def test_escapes():
    parsed = rules.parse(r'workflow == "say \"hi\" \\ bye"')
    assert parsed[0][0].value == 'say "hi" \\ bye'
    assert rules.parse(rules.format_rule(parsed)) == parsed


@pytest.mark.parametrize(("text", "why"), [
    ("", "A rule is needed"),
    ('repository = "x"', "expected ==, != or =~"),
    ("repository == acme", "double-quoted"),
    ('repository == "acme', "unterminated"),
    ('repository == "a" xor ref == "b"', "expected `and` or `or`"),
    ('repository == "a" and', "expected a claim name"),
    (r'repository == "a\n"', "may follow a backslash"),
    ('repository == "a\x01"', "control characters"),
    ('sub =~ "*"', "would match tokens of anyone"),
    ('repository != "evil/app"', "would match tokens of anyone"),
    ('repository == "acme/app" or ref =~ "*main"', "Alternative 2"),
    ("x" * 65 + ' == "a"', "at most 64"),
    ('a == "' + "v" * 257 + '"', "at most 256"),
    (" or ".join(['a == "b"'] * 17), "at most 16 terms"),
    ('a == "b" ' * 200, "at most 1000 characters"),
])
def test_refusals_say_why(text, why):
    with pytest.raises(RuleError, match=why.replace("(", r"\(").replace("?", r"\?").replace("*", r"\*")):
        rules.parse(text)


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("refs/heads/*", "refs/heads/main", True), ("refs/heads/*", "refs/tags/v1", False),
    ("*", "", True), ("?", "", False), ("a*b*c", "aXXbYYc", True), ("a*b*c", "aXXbYY", False),
    ("v?.*", "v1.2.3", True), ("**a", "bbba", True), ("a", "a", True), ("", "", True), ("", "a", False),
])
def test_glob(pattern, text, expected):
    assert rules.glob_match(pattern, text) is expected


def test_glob_of_hostile_size_is_bounded():
    """The worst shape for a two-pointer glob; bounded by the value and claim limits, not exponential."""
    pattern = "*a" * 128
    assert rules.glob_match(pattern, "a" * 4000 + "b") is False


_claim = st.from_regex(r"\A[a-z_][a-z0-9_.:-]{0,20}\Z", fullmatch=True).filter(lambda w: w not in ("and", "or"))
_value = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=("Cs",)), max_size=40)
_term = st.builds(Term, _claim, st.sampled_from(["==", "!=", "=~"]), _value)


@given(st.lists(st.lists(_term, min_size=1, max_size=3), min_size=1, max_size=4))
@settings(max_examples=200, deadline=None)
def test_formatting_then_parsing_gives_the_same_rule(alternatives):
    rule = tuple(tuple(a) for a in alternatives)
    text = rules.format_rule(rule)
    try:
        parsed = rules.parse(text)
    except RuleError as exc:
        # Only the limits or the must-pin-something check may refuse a well-formed rule.
        assert any(w in str(exc) for w in ("anyone", "at most")), str(exc)
        return
    assert parsed == rule


@given(st.text(max_size=1200))
@settings(max_examples=500, deadline=None)
def test_any_text_parses_or_is_refused_with_a_reason(text):
    try:
        parsed = rules.parse(text)
    except RuleError as exc:
        assert str(exc)
    else:
        assert 1 <= sum(len(a) for a in parsed) <= rules.MAX_TERMS


@given(st.dictionaries(st.text(max_size=10), st.one_of(st.text(max_size=50), st.integers(), st.booleans(),
                                                        st.none(), st.lists(st.text(max_size=5), max_size=3)),
                       max_size=8))
@settings(max_examples=300, deadline=None)
def test_hostile_claims_never_raise(claims):
    rule = rules.parse('repository == "acme/app" or ref =~ "refs/*" and sub != "x"')
    assert rules.matches(rule, claims) in (True, False)
    assert isinstance(rules.explain(rule, claims), str)
