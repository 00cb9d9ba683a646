"""The web doors under guessing: sign-in, password change and reset requests share the address's budget,
answer 429 with a clear message, and a lock no longer ends the session of the account's owner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
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
    assert 1 <= int(response["Retry-After"]) <= 2 * 600
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


def test_wrong_current_passwords_count_towards_the_lock(as_user, owner, options):
    options.set("lockout.max_attempts", 3)
    client = as_user(owner)
    for _ in range(3):
        assert change_password(client, "wrong").status_code == 400
    owner.refresh_from_db()
    assert owner.is_locked()
    response = change_password(client, PASSWORD)  # the right one, now too late
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "password checks are paused" in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_a_locked_account_cannot_have_its_password_checked_by_the_change_form(as_user, owner, monkeypatch):
    User.objects.filter(pk=owner.pk).update(locked_until=timezone.now() + timedelta(minutes=5))
    checks = []
    monkeypatch.setattr(User, "check_password", lambda self, raw: checks.append(raw) or False)
    assert change_password(as_user(owner), PASSWORD).status_code == 429
    assert checks == []


def test_the_password_change_form_shares_the_address_budget(as_user, client, owner, small_budget):
    for _ in range(2):
        sign_in(client, "olivia", "wrong")
    signed_in = as_user(owner)
    assert change_password(signed_in, "wrong").status_code == 400
    assert_limited(change_password(signed_in, PASSWORD))
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_an_empty_current_password_is_not_a_guess(as_user, owner):
    change_password(as_user(owner), "")
    owner.refresh_from_db()
    assert owner.failed_attempts == 0


def test_reset_requests_are_limited_per_address(client, owner, small_budget):
    for _ in range(3):
        assert client.post("/users/password/new", {"email": "olivia@example.org"}).status_code == 302
    assert len(mail.outbox) == 3
    assert_limited(client.post("/users/password/new", {"email": "olivia@example.org"}))
    assert len(mail.outbox) == 3
