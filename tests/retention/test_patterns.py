"""Tag-name globs: what they match, what is refused, Portus's regex option, hostile input."""

from __future__ import annotations

import fnmatch
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention import patterns
from retention.patterns import PatternError, from_portus_regex, matches, validate, validate_list


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("latest", "latest", True), ("latest", "latest2", False), ("v1.*", "v1.2", True), ("v1.*", "xv1.2", False),
    ("*", "", True), ("?", "a", True), ("?", "ab", False), ("[a-c]x", "bx", True), ("[!a-c]x", "bx", False),
    ("*-rc[0-9]", "1.0-rc3", True), ("*-rc[0-9]", "1.0-rc", False), ("a**b", "axxb", True), ("[]]", "]", True),
])
def test_globs(pattern, name, expected):
    assert matches(validate(pattern), name) is expected


@pytest.mark.parametrize("bad", ["", " ", "x" * 129, "a/b", "(a*)*b", "a{1,3}", "[abc", "]a", "[z-a]", "é*",
                                 "a\x00"])
def test_bad_patterns_are_refused_with_a_message(bad):
    with pytest.raises(PatternError) as caught:
        validate(bad)
    assert str(caught.value)


def test_lists_are_bounded_and_deduplicated():
    assert validate_list("latest, v1.* latest") == ["latest", "v1.*"]
    with pytest.raises(PatternError):
        validate_list([f"p{i}" for i in range(patterns.MAX_PATTERNS + 1)])
    with pytest.raises(PatternError):
        validate_list({"not": "a list"})


_GLOB_CHARS = st.sampled_from(list("ab.-_*?") + ["[ab]", "[!a]", "[a-c]"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_GLOB_CHARS, min_size=1, max_size=12).map("".join),
       st.text(alphabet="abc.-_", max_size=20))
def test_matching_agrees_with_fnmatch(pattern, name):
    assert matches(pattern, name) == fnmatch.fnmatchcase(name, pattern)


def test_a_pathological_pattern_is_matched_without_backtracking():
    # `*a*a*…*b` against a long run of `a`: exponential for a backtracking matcher, linear here.
    pattern = validate("*a" * 60 + "*b")
    assert matches(pattern, "a" * 128) is False


@pytest.mark.parametrize(("regex", "globs"), [
    ("", []), ("^v1\\..*$", ["v1.*"]), ("-rc$", ["*-rc"]), ("^pr-", ["pr-*"]), ("^dev|^tmp", ["dev*", "tmp*"]),
    ("^[0-9]", ["[0-9]*"]), ("^v.$", ["v?"]),
])
def test_portus_tag_regex_is_read_as_exact_globs(regex, globs):
    assert from_portus_regex(regex) == globs
    for name in ("v1.2", "1.0-rc", "pr-7", "dev", "tmp-1", "9x", "v3", "zzz"):
        expected = re.search(regex, name) is not None if regex else True
        assert any(matches(g, name) for g in globs) == expected or not globs


@pytest.mark.parametrize("regex", ["(a|b)", "a+", "a{2}", "\\d", "^a(?=b)"])
def test_portus_tag_regex_beyond_globs_is_refused_naming_the_option(regex):
    with pytest.raises(PatternError, match="delete.garbage_collector.tag"):
        from_portus_regex(regex)
