"""The ceiling: a bare WSGI app that parses `/v2/token`'s query and signs the same JWT, and nothing else.

It runs under the same gunicorn settings as Portus (portus/gunicorn.conf.py), with the same key, the same
claims and the same response body, so the ratio Portus / ceiling says what everything around the signature
costs: routing, middleware, authentication, the policy, the database. It never touches Django."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

from realm.jwt_tokens import build_claims, token_response
from realm.keys import SigningKey

_KEY = SigningKey.from_pem(Path(os.environ["BENCH_KEY_PATH"]).read_bytes(),
                           Path(os.environ["BENCH_CERT_PATH"]).read_bytes())
_ISSUER = os.environ.get("BENCH_ISSUER", "portus.bench")
_LIFETIME = 300


def _access(scopes: list[str]) -> list[dict]:
    access = []
    for scope in scopes[:16]:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind and name and actions:
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
    return access


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=32)
    claims = build_claims(issuer=_ISSUER, subject="bench", audience=query.get("service", [""])[0],
                          access=_access(query.get("scope", [])), lifetime_seconds=_LIFETIME)
    body = json.dumps(token_response(_KEY.sign(claims), lifetime_seconds=_LIFETIME,
                                     issued_at=datetime.now(UTC))).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                              ("Cache-Control", "no-store")])
    return [body]
