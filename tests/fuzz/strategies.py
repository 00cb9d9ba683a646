"""Hypothesis strategies for hostile input: odd unicode, lone surrogates, NULs, huge and nested values."""

from __future__ import annotations

from hypothesis import strategies as st

# Characters that break naive code: NUL, controls, lone surrogates (valid in JSON as \ud800, not in
# UTF-8), bidirectional overrides, zero-width joiners, combining marks, full-width and dotless letters.
ODD = ["\x00", "\x1b", "\ud800", "\udfff", "\u202e", "\u200d", "\u0301", "\uff41", "\u0131", "\ufeff", "\U0001f600"]

hostile_char = st.one_of(st.sampled_from(ODD), st.characters(codec=None))


def hostile_text(max_size: int = 64) -> st.SearchStrategy[str]:
    """Short strings mixing ordinary name characters with odd ones, plus a few long ones."""
    name_like = st.text(alphabet=st.sampled_from("az09._-/:@ ") | hostile_char, max_size=max_size)
    long = st.builds(lambda c, n: c * n, st.sampled_from(["a", "a-", "-", "\ud800", "é", "/"]),
                     st.integers(200, 5000))
    return st.one_of(name_like, long)


def hostile_json(depth: int = 2) -> st.SearchStrategy:
    """Any JSON value (lists and objects nested up to `depth`) built of hostile scalars."""
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False), hostile_text(),
    )
    if depth <= 0:
        return scalars
    inner = hostile_json(depth - 1)
    return st.one_of(scalars, st.lists(inner, max_size=4),
                     st.dictionaries(hostile_text(16), inner, max_size=4))
