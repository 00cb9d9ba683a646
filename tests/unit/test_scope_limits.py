"""parse_scopes refuses lists no client sends, having read no further than its limits."""

from __future__ import annotations

import pytest

from realm import scopes
from realm.scopes import MAX_SCOPE_PIECES, MAX_SCOPES, TooManyScopes, parse_scopes


def test_the_limit_itself_is_accepted():
    names = [f"repository:ns/app{i}:pull" for i in range(MAX_SCOPES)]
    assert len(parse_scopes([" ".join(names)])) == MAX_SCOPES


def test_one_resource_more_is_refused():
    names = [f"repository:ns/app{i}:pull" for i in range(MAX_SCOPES + 1)]
    with pytest.raises(TooManyScopes, match=f"At most {MAX_SCOPES} resources"):
        parse_scopes(names)


def test_repeats_of_one_resource_merge_and_count_once():
    assert len(parse_scopes(["repository:ns/app:pull repository:ns/app:push"] * 50)) == 1


def test_too_many_pieces_are_refused_even_when_invalid_or_repeated():
    with pytest.raises(TooManyScopes, match=f"At most {MAX_SCOPE_PIECES} scope pieces"):
        parse_scopes(["junk " * (MAX_SCOPE_PIECES + 1)])


def test_a_huge_list_is_refused_after_reading_no_more_than_the_limit(monkeypatch):
    parsed = []
    real = scopes._parse_one
    monkeypatch.setattr(scopes, "_parse_one", lambda piece: parsed.append(piece) or real(piece))
    with pytest.raises(TooManyScopes):
        parse_scopes(" ".join(f"repository:ns/app{i}:pull" for i in range(50_000)).split(" ", 10) + ["x"])
    assert len(parsed) <= MAX_SCOPES + 1
    parsed.clear()
    with pytest.raises(TooManyScopes):
        parse_scopes(["x " * 50_000])
    assert len(parsed) == MAX_SCOPE_PIECES
