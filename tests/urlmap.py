"""The URL map as the tests read it: every pattern of Django's resolver, nested includes flattened. The
authorization matrix (tests/matrix/test_meta.py) and the every-page browser test
(tests/e2e/test_every_page.py) both ask it which doors exist."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver


def walk(patterns=None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """(route, pattern) of every URL pattern below `patterns` (the root resolver's by default)."""
    for item in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(item, URLResolver):
            yield from walk(item.url_patterns, prefix + str(item.pattern))
        elif isinstance(item, URLPattern):
            yield prefix + str(item.pattern), item
