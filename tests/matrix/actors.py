"""The actors of the matrix and what each one is at each door.

A table declares one answer per *class* (the columns of api_table.py and web_table.py):

    adm  the admin                      own  the owner of team qa (namespaces qa, pub, prot)
    con  a contributor of team qa       vie  a viewer of team qa
    gra  a grantee: `push` on qa/app    out  an outsider with an account and nothing in qa
    rob  robot$qa+ci, qa's robot        iro  robot$deploy, an instance robot (`pull` on qa/app)
    ano  anonymous

Every one of the seventeen actors below answers like one of these classes, or is refused whatever the
route, and the expansion says which, once, here: a lock refuses password logins only, so the locked
contributor keeps her token and session (SECURITY.md "A lock switches nothing off"); a disabled account,
an expired or revoked token, and a token without API access open nothing; an API-read-only token reads
what its owner reads and writes nothing; the LDAP user (a viewer, synced from a group) and the OIDC user
(an outsider) are ordinary accounts once in; the web UI takes sessions only, so a token presented to a
page is nobody, and robots have no web sign-in at all.
"""

from __future__ import annotations

from dataclasses import dataclass

CLASSES = ("adm", "own", "con", "vie", "gra", "out", "rob", "iro", "ano")


@dataclass(frozen=True)
class Actor:
    name: str
    user: str | None  # the attribute of the world holding the account (None: anonymous)
    secret: str | None  # the key of world.secrets presented to the API (None: no token)
    api: str  # the class it answers as at the API, or a fixed answer ("401"), or "read:own"
    web: str  # the class it answers as on the web pages ("ano" for no session)
    session: bool  # whether it comes to the web pages with a session (robots: one forced on them)


ACTORS = (
    Actor("admin", "admin", "admin", "adm", "adm", True),
    Actor("owner", "owner", "owner", "own", "own", True),
    Actor("contributor", "contributor", "contributor", "con", "con", True),
    Actor("viewer", "viewer", "viewer", "vie", "vie", True),
    Actor("grantee", "grantee", "grantee", "gra", "gra", True),
    Actor("outsider", "outsider", "outsider", "out", "out", True),
    Actor("robot_namespace", "robot", "robot", "rob", "rob", True),
    Actor("robot_instance", "irobot", "irobot", "iro", "iro", True),
    Actor("token_expired", "owner", "token_expired", "401", "ano", False),
    Actor("token_revoked", "owner", "token_revoked", "401", "ano", False),
    Actor("token_pull_only", "owner", "token_pull_only", "401", "ano", False),
    Actor("token_api_read", "owner", "token_api_read", "read:own", "ano", False),
    Actor("disabled", "disabled", "disabled", "401", "ano", True),
    Actor("locked", "locked", "locked", "con", "con", True),
    Actor("ldap", "ldap", "ldap", "vie", "vie", True),
    Actor("oidc", "oidc", "oidc", "out", "out", True),
    Actor("anonymous", None, None, "ano", "ano", False),
)

SAFE = ("GET", "HEAD", "OPTIONS")


def api_expected(actor: Actor, method: str, answers: dict[str, str]) -> str:
    if "@" + actor.name in answers:
        return answers["@" + actor.name]
    if answers.get("open") and actor.api not in CLASSES:
        return answers["ano"]  # a route that reads no credential: a refused or read-only one is nobody
    if actor.api == "read:own":
        return answers["own"] if method in SAFE else "403"
    return answers.get(actor.api, actor.api)


def web_expected(actor: Actor, answers: dict[str, str]) -> str:
    return answers.get("@" + actor.name, answers[actor.web])


def parse(columns: str) -> dict[str, str]:
    """`"ok ok 403 403 403 404 403 403 401"` → {"adm": "ok", …}, in the order of CLASSES. After a `|`,
    `actor=answer` pairs name the few actors that answer otherwise than their class, and why is said
    beside the row (`| oidc=ok`: otto's own identity)."""
    columns, _, exceptions = columns.partition("|")
    cells = columns.split()
    assert len(cells) == len(CLASSES), f"{len(CLASSES)} columns wanted: {columns!r}"
    open_route = cells[-1].endswith("*")
    cells[-1] = cells[-1].rstrip("*")
    answers = dict(zip(CLASSES, cells, strict=True))
    if open_route:
        answers["open"] = "yes"
    names = {actor.name for actor in ACTORS}
    for pair in exceptions.split():
        name, _, answer = pair.partition("=")
        assert name in names and answer, f"not an actor=answer pair: {pair!r}"
        answers["@" + name] = answer
    return answers
