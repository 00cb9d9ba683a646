"""Expanding the tables into rows, and reading an answer as the tables spell it."""

from __future__ import annotations

import json
import re

from tests.matrix.actors import ACTORS, api_expected, parse, web_expected

SIGN_IN = "/users/sign_in"
_HANDLER = None


def client():
    """A fresh test client (no cookies) sharing one request handler: building the middleware chain (the
    static files' index, above all) costs more than most rows' request."""
    global _HANDLER
    from django.test import Client

    fresh = Client()
    if _HANDLER is None:
        _HANDLER = fresh.handler
    fresh.handler = _HANDLER
    return fresh
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def targets(world) -> dict[str, object]:
    """What `{name}` stands for in a table's path or body."""
    from tests.matrix.world import _pem

    names = ("qa", "pub", "prot", "app", "other", "site", "tag", "site_tag", "owner", "tess", "robot", "irobot",
             "owner_token", "robot_token", "irobot_token", "refresh_token", "trust_policy", "grant", "webhook",
             "delivery", "signing_key", "comment", "run", "retired", "team", "spare_team", "tess_member",
             "registry", "ns_rule", "repo_rule", "identity", "passkey", "personal", "global_ns",
             "robot_trust_policy", "ops_team", "admin", "bare", "spare_registry")
    found = {name: getattr(world, name).pk for name in names}
    if not hasattr(world, "pem"):
        world.pem = _pem()
    found["pem"] = world.pem
    return found


def fill(value, names: dict[str, object]):
    """Placeholders replaced: a string that is only `{name}` becomes the value itself (an id stays a number)."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return names[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(names[m.group(1)]), value)
    if isinstance(value, dict):
        return {key: fill(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, names) for item in value]
    return value


def excerpt(response, size: int = 200) -> str:
    """The start of the body, for the failure message. A streamed one is read to its end through the
    test client's wrapper: closing it by hand would send `request_finished`, which closes the database
    connection (and, on PostgreSQL, the transaction the matrix's world lives in)."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)[:size].decode(errors="replace")
    return response.content[:size].decode(errors="replace")


def answer_of(response) -> str:
    """The answer class of a response: `ok`, `login` (a redirect to the sign-in page) or the status code."""
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        location = response.get("Location", "")
        return "login" if location.split("?")[0].endswith(SIGN_IN) else "ok"
    if 200 <= status < 300:
        return "ok"
    return str(status)


def api_rows(table):
    for method, path, columns, body in table:
        answers = parse(columns)
        for actor in ACTORS:
            yield (actor.name, method, path, body, api_expected(actor, method, answers))


def web_rows(table):
    for method, path, columns, body in table:
        answers = parse(columns)
        for actor in ACTORS:
            yield (actor.name, method, path, body, web_expected(actor, answers))


def row_id(row) -> str:
    actor, method, path, _, expected = row
    return f"{method} {path} as {actor} -> {expected}"


def json_body(body) -> str:
    return json.dumps(body)


def report(door: str, actor: str, got: str, expected: str, detail: str) -> None:
    """With MATRIX_REPORT=<file>, every mismatch is also written there, one line each (to read a run at a
    glance while extending the tables)."""
    import os

    path = os.environ.get("MATRIX_REPORT")
    if path and got != expected:
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{door}\t{actor}\t{got}\t{expected}\t{detail[:160]!r}\n")
