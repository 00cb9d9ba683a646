"""`/v2/token`: every actor × way of logging in × scope → the actions its JWT grants (token_table.py)."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import jwt
import pytest

from tests.matrix.actors import ACTORS, parse
from tests.matrix.rows import client, excerpt, report
from tests.matrix.token_table import LOGINS, SCOPES, actions
from tests.matrix.world import PASSWORD

pytestmark = pytest.mark.django_db

BY_NAME = {actor.name: actor for actor in ACTORS}
SERVICE = "registry.test.lan:5000"


def _expected(whom: str, columns: dict[str, str]) -> str:
    if whom == "refused":
        return "401"
    if whom == "own&pull":
        return "pull" if "P" in columns["own"] else "-"
    return actions(columns[whom])


ROWS = [(actor, kind, scope, _expected(whom, parse(columns)))
        for scope, columns in SCOPES for actor, kind, whom in LOGINS]


def _granted(response, scope: str) -> str:
    if response.status_code != 200:
        return str(response.status_code)
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    kind, _, rest = scope.partition(":")
    name = rest.rpartition(":")[0]
    actions = set()
    for entry in claims["access"]:
        if entry["type"] == kind and entry["name"] == name:
            actions.update(entry["actions"])
    return ",".join(sorted(actions)) or "-"


def _refresh_token(row, actor, kind: str) -> str:
    """A refresh token minted for the actor as the endpoint mints one: bound to its password, or to its
    application token (found whatever its state, so that a revoked or expired one is tried too)."""
    from accounts.models import ApplicationToken
    from accounts.services import refresh_token_create

    user = getattr(row, actor.user)
    token = None
    if kind == "refresh-token":
        token = ApplicationToken.objects.get(digest=ApplicationToken.hash_secret(row.secrets[actor.secret]))
    return refresh_token_create(user=user, registry=row.registry, client_id="matrix", application_token=token)


@pytest.mark.parametrize(("actor_name", "kind", "scope", "expected"), ROWS,
                         ids=[f"{s} as {a} with {k} -> {e}" for a, k, s, e in ROWS])
def test_token_scope(row, options, actor_name, kind, scope, expected):
    actor = BY_NAME[actor_name]
    headers = {}
    if kind != "none":
        user = getattr(row, actor.user)
        secret = row.secrets[actor.secret] if kind == "token" else PASSWORD
        raw = base64.b64encode(f"{user.username}:{secret}".encode()).decode()
        headers["HTTP_AUTHORIZATION"] = f"Basic {raw}"
    if actor_name == "ldap" and kind == "password":
        # The account came from the directory (world.py), so its password is the directory's: here one
        # that cannot be reached (a closed local port), as when the LDAP server is down.
        options.set("ldap.enabled", True)
        options.set("ldap.hostname", "127.0.0.1")
        options.set("ldap.port", 9)
        options.set("ldap.timeout", 1)
    if kind.startswith("refresh"):
        form = urlencode({"grant_type": "refresh_token", "service": SERVICE, "scope": scope, "client_id": "matrix",
                          "refresh_token": _refresh_token(row, actor, kind)})
        response = client().post("/v2/token", form, content_type="application/x-www-form-urlencoded")
    else:
        response = client().get("/v2/token", {"service": SERVICE, "scope": scope}, **headers)
    got = _granted(response, scope)
    report(f"token {scope}", f"{actor_name}/{kind}", got, expected, excerpt(response))
    assert got == expected, f"{scope} as {actor_name} with {kind}: {got} (expected {expected})"
