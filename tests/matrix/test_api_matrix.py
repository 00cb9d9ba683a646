"""Every REST API route and method × every actor → the answer api_table.py declares."""

from __future__ import annotations

import pytest

from tests.matrix.actors import ACTORS
from tests.matrix.api_table import API, OPTIONS
from tests.matrix.rows import answer_of, api_rows, client, excerpt, fill, json_body, report, row_id, targets

pytestmark = pytest.mark.django_db

ROWS = list(api_rows(API))
BY_NAME = {actor.name: actor for actor in ACTORS}


@pytest.mark.parametrize("row_", ROWS, ids=[row_id(r) for r in ROWS])
def test_api_door(row, row_, settings):
    actor_name, method, path, body, expected = row_
    actor = BY_NAME[actor_name]
    names = targets(row)
    for dotted, value in OPTIONS.get((method, path), {}).items():
        *parents, last = dotted.split(".")
        node = settings.PORTUS
        for key in parents:
            node = node[key]
        node[last] = value  # this test's own copy of the options (tests/conftest.py)
    headers = {}
    if actor.secret is not None:
        user = getattr(row, actor.user)
        headers["HTTP_PORTUS_AUTH"] = f"{user.username}:{row.secrets[actor.secret]}"
    browser = client()
    url = fill(path, names)
    kwargs = {}
    if body is not None:
        kwargs = {"data": json_body(fill(body, names)), "content_type": "application/json"}
    response = browser.generic(method, url, **kwargs, **headers) if body is not None else \
        getattr(browser, method.lower())(url, **headers)
    got = answer_of(response)
    detail = excerpt(response)
    report(f"{method} {path}", actor_name, got, expected, detail)
    assert got == expected, f"{method} {url} as {actor_name}: {got} (expected {expected}): {detail}"
