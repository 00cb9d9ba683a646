"""Token claims and the token endpoint's response body."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from realm.jwt_tokens import build_claims, grants_push, lifetime_seconds, token_response

ACCESS = [{"type": "repository", "name": "a/b", "actions": ["pull"]}]


def _claims(**overrides):
    arguments = {
        "issuer": "portus.test.lan",
        "subject": "alice",
        "audience": "registry.test.lan:5000",
        "access": ACCESS,
        "lifetime_seconds": 300,
    }
    arguments.update(overrides)
    return build_claims(**arguments)


def test_claims():
    claims = _claims(now=1_714_557_600.9)
    assert set(claims) == {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "access"}
    assert claims["iss"] == "portus.test.lan" and claims["sub"] == "alice"
    assert claims["aud"] == "registry.test.lan:5000"
    assert claims["access"] == ACCESS
    assert claims["iat"] == 1_714_557_600
    assert claims["exp"] == claims["iat"] + 300
    for name in ("exp", "nbf", "iat"):
        assert type(claims[name]) is int
    assert claims["nbf"] <= claims["iat"] - 1 and claims["iat"] < claims["exp"]


def test_claims_default_to_now_and_keep_an_empty_subject():
    claims = _claims(subject="", access=[])
    assert claims["sub"] == "" and claims["access"] == []
    assert claims["nbf"] <= claims["iat"] < claims["exp"]


def test_audience_is_a_string():
    with pytest.raises(TypeError):
        _claims(audience=["registry.test.lan"])


def test_short_lifetimes_are_raised_to_a_minute():
    claims = _claims(lifetime_seconds=10, now=1000)
    assert claims["exp"] == 1060


def test_jti_is_random_and_url_safe():
    ids = {_claims()["jti"] for _ in range(200)}
    assert len(ids) == 200
    for jti in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", jti)
        assert len(base64.urlsafe_b64decode(jti + "=" * (-len(jti) % 4))) * 8 >= 128


def test_token_response():
    body = token_response(
        "t.o.k",
        lifetime_seconds=300,
        issued_at=datetime(2024, 5, 1, 10, 0, 0, 123, tzinfo=UTC),
        refresh_token=None,
    )
    assert body == {
        "token": "t.o.k",
        "access_token": "t.o.k",
        "expires_in": 300,
        "issued_at": "2024-05-01T10:00:00Z",
    }


def test_token_response_with_refresh_token_and_other_zone():
    issued = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    body = token_response("t", lifetime_seconds=30, issued_at=issued, refresh_token="r-1")
    assert body["issued_at"] == "2024-05-01T10:00:00Z"
    assert body["expires_in"] == 60 and type(body["expires_in"]) is int
    assert body["refresh_token"] == "r-1"


def test_naive_issued_at_is_utc():
    body = token_response(
        "t", lifetime_seconds=0, issued_at=datetime(2024, 5, 1, 10, 0, 0), refresh_token=None
    )
    assert body["issued_at"] == "2024-05-01T10:00:00Z" and body["expires_in"] == 60


@pytest.mark.parametrize(
    ("actions", "pushes"),
    [(["pull"], False), (["pull", "push"], True), (["*"], True), (["delete"], False), ([], False)],
)
def test_push_lifetime_only_for_tokens_that_can_upload(actions, pushes):
    access = [{"type": "repository", "name": "a/b", "actions": actions}]
    assert grants_push(access) is pushes
    assert lifetime_seconds(access, minutes=5, push_minutes=30) == (1800 if pushes else 300)
    assert lifetime_seconds(access, minutes=5) == 300  # 0: as every other token
    assert lifetime_seconds([], minutes=5, push_minutes=30) == 300
