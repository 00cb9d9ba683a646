"""The web doors under guessing: sign-in and reset requests share the address's budget, answer 429 with
a clear message, and a lock no longer ends the session of the account's owner."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
LIMITED = "Too many failed attempts from your address."


@pytest.fixture
def small_budget(options):
    options.set("rate_limit.failures", 3)
    options.set("lockout.max_attempts", 100)


def sign_in(client, username, password=PASSWORD, **meta):
    return client.post("/users/sign_in", {"username": username, "password": password}, **meta)


def change_password(client, current):
    return client.post("/users/password", {"current_password": current, "password": "another-long-secret",
                                           "password_confirm": "another-long-secret"})


def assert_limited(response):
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 600
    assert LIMITED in response.content.decode()


def test_sign_in_is_limited_per_address(client, owner, small_budget):
    for _ in range(3):
        assert sign_in(client, "olivia", "wrong").status_code == 200
    response = sign_in(client, "olivia")
    assert_limited(response)
    assert "Invalid user name or password" not in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert sign_in(client, "olivia", REMOTE_ADDR="198.51.100.3").status_code == 302


def test_a_lock_does_not_end_the_owners_open_session(as_user, client, owner, options):
    options.set("lockout.max_attempts", 3)
    signed_in = as_user(owner)
    for _ in range(3):
        sign_in(client, "olivia", "wrong", REMOTE_ADDR="203.0.113.50")
    owner.refresh_from_db()
    assert owner.is_locked()
    assert signed_in.get("/users/edit").status_code == 200


def test_reset_requests_are_limited_per_address(client, owner, small_budget):
    for _ in range(3):
        assert client.post("/users/password/new", {"email": "olivia@example.org"}).status_code == 302
    assert len(mail.outbox) == 3
    assert_limited(client.post("/users/password/new", {"email": "olivia@example.org"}))
    assert len(mail.outbox) == 3
