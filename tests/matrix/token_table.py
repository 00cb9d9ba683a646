"""The token endpoint's answers: for each actor, each way it logs in and each scope it asks for, the
actions the JWT's `access` claim grants (or a refusal, 401). Columns are the actor classes of actors.py.

The world has `delete.enabled` on (delete.contributors off) and the push policy `allow-teams`:
- qa (private, team qa): qa/app carries gina's `push` grant and robot$deploy's `pull` grant; qa/other none;
- pub (public) and prot (protected), both team qa's; olivia's personal namespace holds olivia/mine;
- the registry's global namespace (public: names without a slash) takes pushes from admins only;
- gone (retired): admins pull, nobody pushes; nowhere/: no such namespace (an admin's push creates it).
`*` is granted, beside the named actions, only where all of pull, push and delete are.
"""

from __future__ import annotations

# P pull, U push, D delete, * the `*` action, - nothing.
#                                               adm  own  con  vie  gra  out  rob  iro  ano
SCOPES = [
    ("repository:qa/app:pull,push",            "PU   PU   PU   P    PU   -    PU   P    -"),
    ("repository:qa/app:*",                    "PUD* PUD* PU   P    PU   -    PU   P    -"),
    ("repository:qa/other:pull,push,delete",   "PUD  PUD  PU   P    -    -    PU   -    -"),
    # qa's robot acts in qa only: elsewhere, even in its own team's pub, it pulls public images, no more.
    ("repository:pub/site:pull,push",          "PU   PU   PU   P    P    P    P    P    P"),
    ("repository:prot/lib:pull",               "P    P    P    P    P    P    -    P    -"),
    ("repository:olivia/mine:pull,push",       "PU   PU   -    -    -    -    -    -    -"),
    ("repository:app:pull,push",               "PU   P    P    P    P    P    P    P    P"),
    ("registry:catalog:*",                     "*    -    -    -    -    -    -    -    -"),
    ("repository:gone/old:pull,push",          "P    -    -    -    -    -    -    -    -"),
    ("repository:nowhere/x:pull,push",         "PU   -    -    -    -    -    -    -    -"),
]
LETTERS = {"P": "pull", "U": "push", "D": "delete", "*": "*"}


def actions(cell: str) -> str:
    """`PU` → `pull,push` (sorted, as the test reads the JWT back); `-` stays."""
    return "-" if cell == "-" else ",".join(sorted(LETTERS[letter] for letter in cell))

# (actor, how it logs in, whom it answers as). `refused`: the login itself fails (401) whatever is asked;
# `own&pull`: olivia's answer, bounded by her pull-only token's scope.
LOGINS = [
    ("admin", "password", "adm"), ("admin", "token", "adm"),
    ("owner", "password", "own"), ("owner", "token", "own"),
    ("contributor", "password", "con"), ("contributor", "token", "con"),
    ("viewer", "password", "refused"),  # vera has a passkey: with a second factor, tokens only
    ("viewer", "token", "vie"),
    ("grantee", "password", "gra"), ("grantee", "token", "gra"),
    ("outsider", "password", "out"), ("outsider", "token", "out"),
    ("robot_namespace", "token", "rob"),
    ("robot_instance", "token", "iro"),
    ("token_expired", "token", "refused"),
    ("token_revoked", "token", "refused"),
    ("token_pull_only", "token", "own&pull"),
    ("token_api_read", "token", "refused"),  # API access only: the registry login refuses it
    ("disabled", "password", "refused"), ("disabled", "token", "refused"),
    ("locked", "password", "refused"),  # a lock refuses password logins...
    ("locked", "token", "con"),  # ...and nothing else
    ("ldap", "password", "refused"),  # the directory decides, and it cannot be reached in the world
    ("ldap", "token", "vie"),
    ("oidc", "password", "refused"),  # no password at all
    ("oidc", "token", "out"),
    ("anonymous", "none", "ano"),
    # A refresh token (grant_type=refresh_token) answers as the credential that minted it: the password
    # ("refresh") or an application token ("refresh-token"), with that token's scopes; it dies with them.
    ("admin", "refresh", "adm"), ("owner", "refresh", "own"), ("contributor", "refresh", "con"),
    ("grantee", "refresh", "gra"), ("outsider", "refresh", "out"), ("disabled", "refresh", "refused"),
    ("owner", "refresh-token", "own"), ("viewer", "refresh-token", "vie"),
    ("robot_namespace", "refresh-token", "rob"), ("token_pull_only", "refresh-token", "own&pull"),
    ("token_revoked", "refresh-token", "refused"), ("token_expired", "refresh-token", "refused"),
    ("disabled", "refresh-token", "refused"),
]
