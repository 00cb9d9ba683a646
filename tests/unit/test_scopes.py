"""The scope parser of the token endpoint: Distribution's grammar, merging, and never raising."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portus.names import split_domain, split_repository_name
from realm.scopes import ResourceScope, format_access, parse_scopes
from tests.hostile import assert_answers_fast

# Distribution's reference grammar, written as in reference/regexp.go, to check the parser against.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
DISTRIBUTION_NAME = re.compile(rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*")


def rs(type_: str, name: str, *actions: str, klass: str = "") -> ResourceScope:
    return ResourceScope(type=type_, name=name, actions=frozenset(actions), klass=klass)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["repository:foo/bar:pull,push"], [rs("repository", "foo/bar", "pull", "push")]),
        (["repository:foo:pull"], [rs("repository", "foo", "pull")]),
        (["repository:localhost:5000/foo/bar:pull"], [rs("repository", "localhost:5000/foo/bar", "pull")]),
        (
            ["repository:registry.example.com/a/b/c:push"],
            [rs("repository", "registry.example.com/a/b/c", "push")],
        ),
        (["repository:[::1]:5000/foo:pull"], [rs("repository", "[::1]:5000/foo", "pull")]),
        (["repository(plugin):foo/bar:pull"], [rs("repository", "foo/bar", "pull", klass="plugin")]),
        (["registry:catalog:*"], [rs("registry", "catalog", "*")]),
        (["repository:foo/bar:*"], [rs("repository", "foo/bar", "*")]),
        (["repository:a.b_c__d--e/f-g:delete"], [rs("repository", "a.b_c__d--e/f-g", "delete")]),
        # Same repository in two values, and twice in one value: merged, first-seen order kept.
        (
            ["repository:foo/bar:push,pull", "repository:other:pull", "repository:foo/bar:delete"],
            [rs("repository", "foo/bar", "pull", "push", "delete"), rs("repository", "other", "pull")],
        ),
        (
            ["repository:x:pull repository:y:pull,push repository:x:push"],
            [rs("repository", "x", "pull", "push"), rs("repository", "y", "pull", "push")],
        ),
        # A class makes a different resource.
        (
            ["repository:foo:pull", "repository(plugin):foo:push"],
            [rs("repository", "foo", "pull"), rs("repository", "foo", "push", klass="plugin")],
        ),
        # Unknown actions dropped, and a scope left without actions dropped.
        (["repository:foo:pull,fly,,PUSH"], [rs("repository", "foo", "pull")]),
        (["repository:foo:fly"], []),
        (["repository:foo:"], []),
        # Unknown types, bad classes, other registry resources.
        (["image:foo:pull", "Repository:foo:pull", "repository():foo:pull", "repository(Plug):foo:pull"], []),
        (["registry:catalog:pull"], [rs("registry", "catalog", "pull")]),
        (["registry:other:*", "registry(x):catalog:*"], []),
        # Malformed names.
        (["repository:Foo/Bar:pull", "repository:foo//bar:pull", "repository:foo/:pull"], []),
        (
            [
                "repository:-foo:pull",
                "repository:foo-:pull",
                "repository:foo..bar:pull",
                "repository:foo___b:pull",
            ],
            [],
        ),
        (["repository:a" + "b" * 255 + ":pull"], []),
        ([f"repository:{'a' * 255}:pull"], [rs("repository", "a" * 255, "pull")]),
        # Garbage.
        ([], []),
        ([""], []),
        (["   "], []),
        ([":::"], []),
        (["repository::pull"], []),
        (["repository:foo"], []),
        (["repository"], []),
        (["repository:fóo:pull", "repository:foo:pull\u00a0", "répository:foo:pull"], []),
        (["repository:foo:pull\x00", "repository:foo\nbar:pull", "repository:foo:pull\tpush"], []),
        (["repository:" + "a/" * 2000 + "b:pull"], []),
        ([None, 42, "repository:ok:pull"], [rs("repository", "ok", "pull")]),
    ],
)
def test_parse_scopes_table(values, expected):
    assert parse_scopes(values) == expected


def test_parse_scopes_accepts_a_generator():
    assert parse_scopes(v for v in ["registry:catalog:*"]) == [rs("registry", "catalog", "*")]


@pytest.mark.parametrize(
    "name",
    [
        "a" * 250 + "!",
        "a-" * 120 + "!",
        "a" + "-" * 250 + "!",
        "a." * 120 + ".",
        "a" * 60 + "/" + "a-" * 90 + "A",
    ],
)
def test_hostile_names_are_rejected_quickly(name):
    """Linear: the hostile scope costs a small factor of a valid one of the same length, measured here."""
    assert parse_scopes([f"repository:{name}:pull"]) == []
    valid = "a" * (len(name) - 2) + "/b"
    assert_answers_fast(lambda n: parse_scopes([f"repository:{n}:pull"]), name, [valid])


def test_format_access():
    scope = rs("repository", "foo/bar", "pull", "push", "delete")
    assert format_access(scope, {"push", "pull"}) == {
        "type": "repository",
        "name": "foo/bar",
        "actions": ["pull", "push"],
    }
    assert format_access(scope, []) == {"type": "repository", "name": "foo/bar", "actions": []}
    assert format_access(rs("repository", "p", "pull", klass="plugin"), ["pull", "pull"]) == {
        "type": "repository",
        "name": "p",
        "actions": ["pull"],
        "class": "plugin",
    }
    assert format_access(rs("registry", "catalog", "*"), {"*"})["actions"] == ["*"]


def test_scope_str_round_trips():
    for scope in (rs("repository", "a/b", "push", "pull"), rs("repository", "p", "*", klass="plugin")):
        assert parse_scopes([str(scope)]) == [scope]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app", ("", "app")),
        ("team/app", ("team", "app")),
        ("a/b/c", ("a", "b/c")),
        # The first component is the namespace even when it looks like a host: the registry stores it so.
        ("john.doe/app", ("john.doe", "app")),
        ("localhost/app", ("localhost", "app")),
        ("localhost:5000/foo/bar", ("localhost:5000", "foo/bar")),
    ],
)
def test_split_repository_name(name, expected):
    assert split_repository_name(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app", ("", "app")),
        ("team/app", ("", "team/app")),
        ("localhost/app", ("localhost", "app")),
        ("localhost:5000/foo/bar", ("localhost:5000", "foo/bar")),
        ("registry.example.com/a/b", ("registry.example.com", "a/b")),
        ("example.com", ("", "example.com")),
    ],
)
def test_split_domain(name, expected):
    assert split_domain(name) == expected


def _assert_grammatical(scope: ResourceScope) -> None:
    assert scope.actions and scope.actions <= {"pull", "push", "delete", "*"}
    assert len(scope.name) <= 255
    if scope.type == "registry":
        assert scope.name == "catalog" and scope.klass == ""
    else:
        assert scope.type == "repository"
        assert DISTRIBUTION_NAME.fullmatch(scope.name)
        assert scope.klass == "" or re.fullmatch(r"[a-z0-9]+", scope.klass)


_piece = st.one_of(
    st.text(max_size=60),
    st.from_regex(
        r"(repository|registry|repository\(plugin\)|junk):[a-z0-9./:_-]{0,20}:[a-z*,]{0,20}", fullmatch=True
    ),
    st.from_regex(
        rf"repository:{DISTRIBUTION_NAME.pattern}:(pull|push|delete|\*)(,(pull|push|delete|\*|x))*",
        fullmatch=True,
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(), st.lists(_piece, max_size=4).map(" ".join)), max_size=5))
def test_parse_scopes_never_raises_and_results_are_grammatical(values):
    result = parse_scopes(values)
    keys = [(s.type, s.name, s.klass) for s in result]
    assert len(keys) == len(set(keys))
    for scope in result:
        _assert_grammatical(scope)


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(rf"{DISTRIBUTION_NAME.pattern}", fullmatch=True).filter(lambda n: len(n) <= 255),
    st.sets(st.sampled_from(["pull", "push", "delete", "*"]), min_size=1),
)
def test_every_grammatical_repository_scope_is_accepted(name, actions):
    assert parse_scopes([f"repository:{name}:{','.join(sorted(actions))}"]) == [
        rs("repository", name, *actions)
    ]
