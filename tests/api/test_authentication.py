"""Who may call the API: the Portus-Auth header (application tokens only) and the web session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import application_token_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def header_client(value: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_PORTUS_AUTH=value)
    return client


@pytest.fixture
def token(owner):
    return application_token_create(user=owner, application="script", by=owner)[1]


def test_valid_header_authenticates(owner, token):
    response = header_client(f"olivia:{token}").get("/api/version")
    assert response.status_code == 200
    assert response.json()["api-versions"] == ["v1"]


def test_no_credentials_is_401_with_portus_message(db):
    response = APIClient().get("/api/version")
    assert response.status_code == 401
    assert response.json() == {"message": "Authentication fails"}
    assert response["WWW-Authenticate"].startswith("Portus-Auth")


def test_token_of_another_user_is_refused(owner, outsider, token):
    response = header_client(f"oscar:{token}").get("/api/version")
    assert response.status_code == 401
    assert "message" in response.json()


def test_unknown_token_is_refused(owner):
    assert header_client("olivia:pat_nope").get("/api/version").status_code == 401


def test_password_is_not_a_token(owner):
    assert header_client(f"olivia:{PASSWORD}").get("/api/version").status_code == 401


@pytest.mark.parametrize("value", ["olivia", "olivia:", ":secret", ""])
def test_malformed_header_is_401(owner, value):
    response = header_client(value).get("/api/version")
    assert response.status_code == 401
    assert response.json()["message"]


def test_disabled_account_is_refused(owner, token):
    owner.enabled = False
    owner.save()
    assert header_client(f"olivia:{token}").get("/api/version").status_code == 401


def test_a_locked_account_keeps_its_token(owner, token):
    """A lock stops password guessing; a token cannot be guessed, so a stranger's wrong passwords must
    not switch off the account's scripts."""
    owner.locked_until = timezone.now() + timedelta(minutes=5)
    owner.save()
    assert header_client(f"olivia:{token}").get("/api/version").status_code == 200


def test_expired_token_is_refused(owner):
    from accounts.models import ApplicationToken

    token, plain = application_token_create(user=owner, application="old", by=owner)
    ApplicationToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert header_client(f"olivia:{plain}").get("/api/version").status_code == 401


def test_bot_authenticates_with_its_token(bot):
    _, plain = application_token_create(user=bot, application="ci", by=bot)
    assert header_client(f"ci-bot:{plain}").get("/api/version").status_code == 200


def test_use_is_recorded_on_the_token(owner, token):
    from accounts.models import ApplicationToken

    header_client(f"olivia:{token}").get("/api/version")
    assert ApplicationToken.objects.get(user=owner, application="script").last_used_at is not None


def test_session_authenticates_reads(owner):
    client = APIClient()
    client.force_login(owner)
    assert client.get("/api/version").status_code == 200


def test_session_needs_csrf_for_unsafe_methods(owner):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/api/v1/teams", {"name": "new"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]


def test_session_with_csrf_token_may_write(owner):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    client.get("/api/version")  # any page would do; the test client keeps the cookie once it is set
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    response = client.post("/api/v1/teams", {"name": "new"}, format="json",
                           HTTP_X_CSRFTOKEN=_mask_cipher_secret(secret))
    assert response.status_code == 201, response.json()


def test_a_lock_does_not_end_an_open_session(owner):
    client = APIClient()
    client.force_login(owner)
    owner.locked_until = timezone.now() + timedelta(minutes=5)
    owner.save()
    assert client.get("/api/version").status_code == 200


def test_a_disabled_session_is_anonymous(owner):
    client = APIClient()
    client.force_login(owner)
    owner.enabled = False
    owner.save()
    assert client.get("/api/version").status_code == 401


def test_refused_headers_count_against_the_address_and_end_in_429(owner, token, options):
    options.set("rate_limit.failures", 3)
    for _ in range(3):
        assert header_client("olivia:pat_guess").get("/api/version").status_code == 401
    response = header_client("olivia:pat_guess").get("/api/version")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["message"].startswith("Too many failed attempts from your address.")
    # A valid token never reads the counter: scripts from the same address go on.
    assert header_client(f"olivia:{token}").get("/api/version").status_code == 200
