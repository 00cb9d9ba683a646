"""Once an account has a second factor, its password no longer logs in to the registry; application
tokens do, and the error says so."""

from __future__ import annotations

import base64

import pytest

from accounts import credentials
from accounts.services import application_token_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _token_request(client, username, secret, scope="repository:olivia/app:pull"):
    basic = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return client.get("/v2/token", {"service": "registry.test.lan:5000", "scope": scope},
                      HTTP_AUTHORIZATION=f"Basic {basic}")


def test_without_a_factor_the_password_logs_in(client, owner):
    assert _token_request(client, "olivia", PASSWORD).status_code == 200


def test_with_a_factor_the_password_is_refused_and_told_to_use_a_token(client, owner, enrol_totp):
    assert _token_request(client, "olivia", PASSWORD).status_code == 200  # remembered by the cache, too
    enrol_totp(owner)
    response = _token_request(client, "olivia", PASSWORD)
    assert response.status_code == 401
    message = response.json()["errors"][0]["message"]
    assert "application token" in message and "second factor" in message
    assert response["WWW-Authenticate"].startswith("Basic ")


def test_with_a_factor_an_application_token_logs_in(client, owner, enrol_totp):
    enrol_totp(owner)
    _, plain = application_token_create(user=owner, application="ci", by=owner)
    response = _token_request(client, "olivia", plain)
    assert response.status_code == 200 and response.json()["token"]


def test_a_wrong_password_is_still_just_wrong(client, owner, enrol_totp):
    enrol_totp(owner)
    response = _token_request(client, "olivia", "not-the-password")
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == credentials.MESSAGES[credentials.Failure.INVALID]


def test_a_passkey_counts_as_a_factor_too(client, owner, as_user, register_passkey):
    register_passkey(as_user(owner))
    assert _token_request(client, "olivia", PASSWORD).status_code == 401


def test_required_but_not_enrolled_is_told_to_enrol_first(client, admin, options):
    options.set("two_factor.required", "admins")
    response = _token_request(client, "admin", PASSWORD)
    assert response.status_code == 401 and "must set up a second factor" in response.json()["errors"][0]["message"]


def test_the_web_sign_in_still_takes_the_password(client, owner, enrol_totp):
    enrol_totp(owner)
    result = credentials.verify("olivia", PASSWORD, allow_tokens=False, interactive=True)
    assert result.ok
    assert credentials.verify("olivia", PASSWORD).failure is credentials.Failure.PASSWORD_REFUSED


def test_the_first_factor_signs_out_clients_that_logged_in_with_the_password(owner, registry, enrol_totp):
    from accounts.models import RefreshToken
    from accounts.services import refresh_token_create

    token, _ = application_token_create(user=owner, application="laptop", by=owner)
    by_password = refresh_token_create(user=owner, registry=registry, client_id="docker")
    by_token = refresh_token_create(user=owner, registry=registry, client_id="ci", application_token=token)
    assert RefreshToken.find(by_password) is not None
    enrol_totp(owner)
    assert RefreshToken.find(by_password) is None
    assert RefreshToken.find(by_token) is not None
