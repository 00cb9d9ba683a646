"""Hostile inputs for name validators, and a timing check against a linear baseline measured in the same test.

A validator passes when it answers a hostile input within FACTOR times the time it takes for a valid input of
the same length. A backtracking explosion blows that bound by many orders of magnitude (Distribution 2.8's
component pattern needs 2^n steps for `a…a!`); a deadline stops such a runaway match (Python's regex engine
checks for signals) so that the test fails instead of hanging.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterable, Iterator

FACTOR = 25  # generous: a linear matcher spends a small constant factor more on a rejected input
DEADLINE_SECONDS = 5.0


def fill(unit: str, length: int, tail: str = "!") -> str:
    """`unit` repeated to `length` characters, the last ones replaced by `tail`."""
    return (unit * length)[: length - len(tail)] + tail


def hostile_shapes(length: int = 255) -> dict[str, str]:
    """Inputs of `length` characters that make a backtracking matcher try every split before failing."""
    return {
        "letters then !": fill("a", length),
        "letter-dash pairs": fill("a-", length),
        "letter-dot pairs": fill("a.", length),
        "letter-underscore pairs": fill("a_", length),
        "letter-double-underscore": fill("a__", length),
        "dashes": fill("-", length),
        "one run of dashes": "a" + fill("-", length - 1),
        "slashes": fill("a/", length),
        "domain labels": fill("a-a.", length, tail=":/!"),
        "colons": fill("a:", length),
        "mixed separators": fill("a-b.c_d__e/0", length),
        "digest-like": "sha256:" + fill("a-", length - 7),
        "trailing newline": fill("a", length, tail="\n"),
    }


class Runaway(AssertionError):
    """The call did not return before the deadline."""


@contextlib.contextmanager
def deadline(seconds: float = DEADLINE_SECONDS) -> Iterator[None]:
    def expire(signum, frame):
        raise Runaway(f"did not answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def best_time(call: Callable[[str], object], value: str, *, calls: int = 20, rounds: int = 5) -> float:
    """Seconds per call, the best of `rounds` (the least disturbed by other work on the machine)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            call(value)
        best = min(best, (time.perf_counter() - started) / calls)
    return best


def quietly(check: Callable[[str], object]) -> Callable[[str], object]:
    """The check with its refusal (a ValidationError) taken as an answer."""
    from django.core.exceptions import ValidationError

    def call(value: str) -> object:
        try:
            return check(value)
        except ValidationError:
            return False

    return call


def assert_answers_fast(check: Callable[[str], object], hostile: str, valid: Iterable[str], *,
                        factor: float = FACTOR, calls: int = 20) -> tuple[float, float]:
    """Asserts that `check(hostile)` costs at most `factor` × the slowest of `check(v)` for the valid inputs.
    Returns (hostile seconds, baseline seconds)."""
    call = quietly(check)
    baseline = max(best_time(call, value, calls=calls) for value in valid)
    with deadline():
        spent = best_time(call, hostile, calls=calls)
    assert spent <= baseline * factor, (
        f"{spent * 1e6:.1f} µs on a hostile input of {len(hostile)} characters, "
        f"{baseline * 1e6:.1f} µs on a valid one: more than {factor}× (not linear)")
    return spent, baseline
