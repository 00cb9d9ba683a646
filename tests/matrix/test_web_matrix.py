"""Every page and form action of the web UI × every actor → the answer web_table.py declares."""

from __future__ import annotations

import pytest

from tests.matrix.actors import ACTORS
from tests.matrix.rows import answer_of, client, excerpt, fill, report, row_id, targets, web_rows
from tests.matrix.web_table import WEB

pytestmark = pytest.mark.django_db

ROWS = list(web_rows(WEB))
BY_NAME = {actor.name: actor for actor in ACTORS}


@pytest.mark.parametrize("row_", ROWS, ids=[row_id(r) for r in ROWS])
def test_web_door(row, row_):
    actor_name, method, path, body, expected = row_
    actor = BY_NAME[actor_name]
    names = targets(row)
    browser = client()
    headers = {}
    if actor.session:
        browser.force_login(getattr(row, actor.user), backend="accounts.backends.PortusBackend")
    elif actor.secret is not None:
        # A token is no web credential: presented to a page, it is nobody.
        user = getattr(row, actor.user)
        headers["HTTP_PORTUS_AUTH"] = f"{user.username}:{row.secrets[actor.secret]}"
    url = fill(path, names)
    if method == "GET":
        response = browser.get(url, **headers)
    else:
        response = browser.post(url, data=fill(body or {}, names), **headers)
    got = answer_of(response)
    detail = excerpt(response)
    report(f"{method} {path}", actor_name, got, expected, detail)
    assert got == expected, f"{method} {url} as {actor_name}: {got} (expected {expected})"
