"""The second step's code form and the WebAuthn JSON endpoints, fed hostile input: a clear refusal,
never a 5xx, never a session signed in by it, and bodies past the bound refused unread."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD
from tests.fuzz.strategies import hostile_json, hostile_text
from tests.twofactor.conftest import post_json, sign_in
from twofactor.passkeys import MAX_BODY_BYTES

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
REFUSALS = (400, 403, 413, 429)
JSON_DOORS = ["/users/passkey/sign_in", "/users/two_factor/verify/passkey", "/users/two_factor/passkeys"]


def _form(fields: dict) -> bytes:
    return urlencode(fields, doseq=True, encoding="utf-8", errors="surrogatepass").encode("ascii")


def _raw(client: Client, url: str, body: bytes, content_type: str = "application/json"):
    return client.generic("POST", url, body, content_type=content_type)


def _assert_small_refusal(response) -> None:
    assert response.status_code in REFUSALS, (response.status_code, response.content[:300])
    assert len(response.content) < 2048  # a message, never an echo of what was sent
    if response["Content-Type"].startswith("application/json"):
        assert isinstance(response.json()["message"], str)


@pytest.fixture
def stranger(owner, enrol_totp):
    """Olivia has an authenticator app; the client is between her password and the second step."""
    enrol_totp(owner)
    return owner


def _pending_client() -> Client:
    client = Client()
    sign_in(client, "olivia", PASSWORD, REMOTE_ADDR="192.0.2.1")
    return client


@pytest.mark.django_db
@FUZZ
@given(code=hostile_text(80) | st.lists(hostile_text(16), min_size=2, max_size=3),
       address=st.integers(1, 250))
def test_the_code_form_answers_a_page_for_any_input(stranger, code, address):
    client = _pending_client()
    response = client.post("/users/two_factor/verify", data=_form({"code": code}),
                           content_type="application/x-www-form-urlencoded", REMOTE_ADDR=f"198.51.100.{address}")
    assert response.status_code in (200, 302, 400, 429), response.status_code
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@FUZZ
@given(body=st.one_of(st.binary(max_size=2048), hostile_json(3).map(lambda v: json.dumps(v).encode()),
                      hostile_json(2).map(lambda v: json.dumps({"credential": v}).encode())),
       door=st.sampled_from(JSON_DOORS))
def test_the_webauthn_doors_refuse_any_body(stranger, as_user, body, door):
    clients = {"/users/passkey/sign_in": Client, "/users/two_factor/verify/passkey": _pending_client,
               "/users/two_factor/passkeys": lambda: as_user(stranger)}
    client = clients[door]()
    # A ceremony is pending, so the body itself is what is judged.
    post_json(client, {"/users/passkey/sign_in": "/users/passkey/options",
                       "/users/two_factor/verify/passkey": "/users/two_factor/verify/passkey/options",
                       "/users/two_factor/passkeys": "/users/two_factor/passkeys/options"}[door])
    response = _raw(client, door, body)
    _assert_small_refusal(response)
    if door != "/users/two_factor/passkeys":
        assert "_auth_user_id" not in client.session


def _mutations() -> st.SearchStrategy:
    paths = st.sampled_from([("id",), ("rawId",), ("type",), ("response", "clientDataJSON"),
                             ("response", "authenticatorData"), ("response", "signature"),
                             ("response", "userHandle"), ("authenticatorAttachment",), ("response",)])
    return st.lists(st.tuples(paths, hostile_json(1)), min_size=1, max_size=3)


@pytest.mark.django_db
@FUZZ
@given(mutations=_mutations())
def test_a_tampered_passkey_answer_never_signs_in(owner, as_user, register_passkey, authenticator, mutations):
    if not authenticator.credentials:  # once: the fixtures live across the examples
        register_passkey(as_user(owner))
    client = Client()
    challenge = post_json(client, "/users/passkey/options").json()["publicKey"]
    answer = authenticator.get(challenge)
    for path, value in mutations:
        node = answer
        for key in path[:-1]:
            node = node[key] if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node[path[-1]] = value
    response = post_json(client, "/users/passkey/sign_in", {"credential": answer})
    if response.status_code == 200:
        # Only a mutation that changed nothing the signature covers may pass (e.g. the attachment hint).
        assert all(p in (("authenticatorAttachment",),) for p, _ in mutations)
    else:
        _assert_small_refusal(response)
        assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize("door", JSON_DOORS)
def test_a_body_past_the_bound_is_refused_unread(stranger, as_user, door):
    client = as_user(stranger) if door == "/users/two_factor/passkeys" else _pending_client()
    body = json.dumps({"credential": {"id": "a" * MAX_BODY_BYTES}}).encode()
    response = _raw(client, door, body)
    _assert_small_refusal(response)
    assert "larger than" in response.json()["message"]


@pytest.mark.django_db
def test_deeply_nested_json_is_refused(stranger):
    client = _pending_client()
    post_json(client, "/users/two_factor/verify/passkey/options")
    response = _raw(client, "/users/two_factor/verify/passkey", b"[" * 30000 + b"]" * 30000)
    _assert_small_refusal(response)
