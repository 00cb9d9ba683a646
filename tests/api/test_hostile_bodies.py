"""Hostile request bodies (deep nesting, in JSON or in a form's brackets) get a 400, never a 500."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import URLPattern
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from api.parsers import MAX_DEPTH, deeper_than
from api.urls import urlpatterns
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

DEEP_JSON = '{"user":' * 50_000 + "1" + "}" * 50_000  # far past the decoder's recursion limit
DEEPISH_JSON = '{"user":' + "[" * 600 + "]" * 600 + "}"  # decodes, then would recurse in our own checks
DEEP_FORM = "user" + "[a]" * 5_000 + "=x"


def _post(client, path: str, body: str, content_type: str = "application/json"):
    client.raise_request_exception = False
    return client.post(path, body, content_type=content_type)


@pytest.mark.parametrize("body", [DEEP_JSON, DEEPISH_JSON], ids=["past-the-decoder", "past-our-limit"])
def test_deep_json_on_the_anonymous_bootstrap_is_400(db, body):
    response = _post(APIClient(), "/api/v1/users/bootstrap", body)
    assert response.status_code == 400
    assert set(response.json()) == {"message"}


def test_deep_form_on_the_anonymous_bootstrap_is_400(db):
    response = _post(APIClient(), "/api/v1/users/bootstrap", DEEP_FORM, "application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "nests deeper" in response.json()["message"]


@pytest.mark.parametrize("body, content_type", [(DEEP_JSON, "application/json"), (DEEPISH_JSON, "application/json"),
                                                (DEEP_FORM, "application/x-www-form-urlencoded")])
def test_deep_bodies_on_teams_are_400(owner, body, content_type):
    response = _post(client_for(owner), "/api/v1/teams", body, content_type)
    assert response.status_code == 400
    assert "message" in response.json()


def test_the_limit_leaves_every_real_body_alone(owner):
    body = {"name": "ops", "description": "x"}
    assert client_for(owner).post("/api/v1/teams", body, format="json").status_code == 201


def _routes() -> list[str]:
    """Every v1 route (without its trailing-slash twin), path parameters set to 1."""
    patterns = [str(p.pattern) for p in urlpatterns if isinstance(p, URLPattern)]
    return ["/api/" + re.sub(r"<\w+:\w+>", "1", p) for p in patterns if p.startswith("v1/") and not p.endswith("/")]


@pytest.mark.parametrize("path", _routes())
@pytest.mark.parametrize("method", ["post", "put"])
def test_no_endpoint_answers_5xx_to_a_deep_body(admin, path, method):
    client = client_for(admin)
    client.raise_request_exception = False
    for body, content_type in ((DEEP_JSON, "application/json"), (DEEPISH_JSON, "application/json"),
                               (DEEP_FORM, "application/x-www-form-urlencoded")):
        response = getattr(client, method)(path, body, content_type=content_type)
        assert response.status_code < 500, (path, method, content_type, response.content[:200])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON_VALUES, wrap=st.integers(min_value=0, max_value=1200))
def test_any_json_body_on_the_bootstrap_is_never_5xx(db, value, wrap):
    body = '{"user":' + "[" * wrap + json.dumps(value) + "]" * wrap + "}"
    assert _post(APIClient(), "/api/v1/users/bootstrap", body).status_code < 500


def test_deeper_than_counts_levels_without_recursing():
    assert not deeper_than({"user": {"username": "x"}})
    assert not deeper_than(_nested(MAX_DEPTH))
    assert deeper_than(_nested(MAX_DEPTH + 1))
    assert deeper_than(_nested(100_000))  # a recursive walk would overflow here
    assert not deeper_than("plain") and not deeper_than([])


def _nested(levels: int):
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value
