"""/v2/token bounds what one request may ask: scopes, body and query size; hostile input never a 5xx."""

from __future__ import annotations

import base64
from urllib.parse import quote_from_bytes, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from realm.scopes import MAX_SCOPES
from realm.token import MAX_BODY_BYTES
from tests.conftest import PASSWORD
from tests.token.test_token_endpoint import SERVICE, URL, basic, form

pytestmark = pytest.mark.django_db
MAX_ANSWER_BYTES = 16 * 1024  # an error is a sentence; a token holds at most MAX_SCOPES entries


def assert_refused(response, status: int, words: str):
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"] == "application/json"
    error = response.json()["errors"][0]
    assert error["code"] == "UNSUPPORTED" and words in error["message"]


def test_fifty_thousand_scopes_in_a_post_are_refused_at_once(client, owner, monkeypatch):
    scope = " ".join(f"repository:olivia/app{i}:pull" for i in range(50_000))
    parsed = []
    monkeypatch.setattr("realm.scopes._parse_one", lambda piece: parsed.append(piece))
    response = form(client, {"grant_type": "password", "username": "olivia", "password": PASSWORD,
                             "service": SERVICE, "scope": scope})
    assert_refused(response, 413, f"larger than {MAX_BODY_BYTES} bytes")
    assert parsed == []  # refused by its size, before a single scope is read


def test_more_resources_than_the_limit_are_a_clear_400(client, owner):
    scopes = [f"repository:olivia/a{i}:pull" for i in range(MAX_SCOPES + 1)]
    response = client.get(URL, {"service": SERVICE, "scope": scopes}, HTTP_AUTHORIZATION=basic("olivia", PASSWORD))
    assert_refused(response, 400, f"At most {MAX_SCOPES} resources")
    joined = form(client, {"grant_type": "password", "username": "olivia", "password": PASSWORD,
                           "service": SERVICE, "scope": " ".join(scopes)})
    assert_refused(joined, 400, f"At most {MAX_SCOPES} resources")


def test_the_limit_itself_is_granted(client, owner):
    scopes = [f"repository:olivia/a{i}:pull" for i in range(MAX_SCOPES)]
    response = client.get(URL, {"service": SERVICE, "scope": scopes}, HTTP_AUTHORIZATION=basic("olivia", PASSWORD))
    assert response.status_code == 200
    assert len(response.content) < 64 * 1024


def test_a_huge_query_string_is_refused_before_parsing(client, registry):
    response = client.get(URL + "?" + urlencode({"service": SERVICE, "scope": "x" * 40_000}))
    assert_refused(response, 400, "query string is longer than")


def test_too_many_form_fields_are_a_json_400(client, registry):
    body = "&".join(f"f{i}=" for i in range(1500)) + "&grant_type=password"
    response = client.post(URL, body, content_type="application/x-www-form-urlencoded")
    assert_refused(response, 400, "too many fields")


# --- hostile input: never a 5xx, never a large answer ----------------------------------------------

_odd_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=3000),
    st.sampled_from(["", " ", "olivia", "portus", SERVICE, "repository:olivia/a:pull", "registry:catalog:*",
                     "repository(plugin):x/y:*", "\x00", "ǅ", "\u202e", "true", "offline", PASSWORD]),
    st.integers(1_000, 40_000).map(lambda n: "repository:olivia/a:pull " * (n // 25)),
)
_scope = st.one_of(_odd_text, st.lists(st.sampled_from(["repository:olivia/a:pull", "junk", "registry:catalog:*",
                                                        "repository:x:*"]), max_size=80).map(" ".join))
_fields = st.fixed_dictionaries(
    {},
    optional={
        "service": _odd_text, "scope": st.lists(_scope, max_size=4), "account": _odd_text,
        "offline_token": _odd_text, "client_id": _odd_text, "grant_type": st.one_of(
            _odd_text, st.sampled_from(["password", "refresh_token"])),
        "username": _odd_text, "password": _odd_text, "refresh_token": _odd_text, "access_type": _odd_text,
    },
)
_authorization = st.one_of(
    st.none(),
    st.binary(max_size=300).map(lambda b: "Basic " + base64.b64encode(b).decode()),
    st.tuples(_odd_text, _odd_text).map(lambda up: "Basic " + base64.b64encode(
        f"{up[0]}:{up[1]}".encode("utf-8", "surrogatepass")).decode()),
    st.text(alphabet=st.characters(max_codepoint=255), max_size=200),
)


def _assert_bounded(response):
    assert response.status_code < 500, response.content[:300]
    assert len(response.content) <= MAX_ANSWER_BYTES
    assert response["Content-Type"] == "application/json"
    response.json()


@pytest.fixture
def _fuzz_setup(owner, options):
    options.set("rate_limit.failures", 10**6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=_fields, authorization=_authorization, raw=st.binary(max_size=200), post=st.booleans())
def test_any_token_request_is_answered_in_bounded_json(client, _fuzz_setup, fields, authorization, raw, post):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    query = urlencode(fields, doseq=True) + "&" + quote_from_bytes(raw, safe="=&")
    if post:
        response = client.post(URL, query, content_type="application/x-www-form-urlencoded", **headers)
    else:
        response = client.get(URL + "?" + query, **headers)
    event(f"status {response.status_code}")
    _assert_bounded(response)
