"""Grant patterns: the linear glob matcher agrees with fnmatch and with its SQL LIKE translation."""

from __future__ import annotations

import fnmatch
import string

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from grants.patterns import MAX_PATTERN_LENGTH, like_pattern, matches, validate_pattern

NAME_ALPHABET = "ab_-./"
names = st.text(alphabet=NAME_ALPHABET, max_size=12)
patterns = st.text(alphabet=NAME_ALPHABET + "*?", max_size=10)


@given(pattern=patterns, name=names)
@settings(max_examples=400, deadline=None)
def test_the_matcher_agrees_with_fnmatch(pattern, name):
    # fnmatch's only other wildcards are brackets, which patterns cannot hold.
    assert matches(pattern, name) == fnmatch.fnmatchcase(name, pattern)


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("app", "app", True), ("app", "apps", False), ("app/*", "app/web", True), ("app/*", "app/web/nightly", True),
    ("app/*", "app", False), ("a?p", "app", True), ("my_app", "myxapp", False), ("*", "anything/at/all", True),
    ("web-*-api", "web-eu-api", True), ("web-*-api", "web-eu-db", False),
])
def test_examples(pattern, name, expected):
    assert matches(pattern, name) is expected


def test_a_hostile_pattern_costs_linear_time():
    # Exponential for a naive backtracking matcher: here a few thousand steps.
    assert not matches("*a" * 8 + "b", "a" * 1000)


@pytest.mark.parametrize("bad", ["", "/app", "app/", "a//b", "App", "a b", "a[b]", "a\x00", "é", "*" * 9,
                                 "a" * (MAX_PATTERN_LENGTH + 1), "a%b", "a\\b"])
def test_invalid_patterns_are_refused(bad):
    with pytest.raises(ValidationError):
        validate_pattern(bad)


def test_like_escapes_underscore_and_translates_wildcards():
    assert like_pattern("my_app/*") == "my!_app/%"
    assert like_pattern("a?c") == "a_c"


SQL_NAMES = ["app", "app/web", "app/web/nightly", "apps", "my_app", "myxapp", "web-eu-api", "web-eu-db", "x.y_z"]


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", ["app", "app/*", "my_app", "my?app", "*_*", "web-*-api", "*", "x.y?z", "a*"])
def test_sql_like_selects_what_the_matcher_matches(pattern, namespace):
    from django.db.models import F, Value

    from grants.models import Like
    from namespaces.models import Repository

    for name in SQL_NAMES:
        Repository.objects.create(namespace=namespace, name=name)
    selected = set(Repository.objects.filter(namespace=namespace)
                   .filter(Like(F("name"), Value(like_pattern(pattern)))).values_list("name", flat=True))
    assert selected == {name for name in SQL_NAMES if matches(pattern, name)}


def test_alphabet_of_names_is_the_grammars():
    from grants.patterns import NAME_CHARACTERS

    assert set(string.ascii_lowercase) <= NAME_CHARACTERS and "*" not in NAME_CHARACTERS
