"""Fixtures of the second-factor tests: people with an authenticator app or a passkey, codes, ceremonies."""

from __future__ import annotations

import json
import time

import pyotp
import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tests.twofactor.authenticator import SoftAuthenticator


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def post_json(client: Client, url: str, body=None, **extra):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json", **extra)


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post("/users/sign_in", {"username": username, "password": password}, **extra)


@pytest.fixture
def enrol_totp():
    """enrol_totp(user) → the secret of a confirmed authenticator app (and the recovery codes)."""
    from twofactor import services

    def make(user):
        secret = services.totp_begin(user=user)
        codes = services.totp_confirm(user=user, code=code_at(secret))
        assert codes, "the first factor makes recovery codes"
        return secret, codes

    return make


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator()


@pytest.fixture
def register_passkey(authenticator):
    """register_passkey(client) → the JSON answer of registering a passkey through the client's session."""

    def make(client: Client, name: str = "Laptop"):
        options = post_json(client, "/users/two_factor/passkeys/options")
        assert options.status_code == 200, options.content
        credential = authenticator.create(options.json()["publicKey"])
        response = post_json(client, "/users/two_factor/passkeys", {"credential": credential, "name": name})
        assert response.status_code == 200, response.content
        return response

    return make


@pytest.fixture
def as_user(db):
    """as_user(actor) → a test client with that actor's session."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user, backend="accounts.backends.PortusBackend")
        return client

    return make
