"""/users/sign_in and sign out: who gets in, with which message, lockout, CSRF, the redirect."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from tests.conftest import PASSWORD


def sign_in(client, username, password=PASSWORD, **extra):
    return client.post("/users/sign_in", {"username": username, "password": password, **extra})


def test_the_page_shows_a_form(client, owner):
    response = client.get("/users/sign_in")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label class="form-label" for="id_username">User name' in html
    assert '<label class="form-label" for="id_password">Password' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_person_signs_in_and_lands_on_the_dashboard(client, owner):
    response = sign_in(client, "olivia")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").context["user"] == owner
    owner.refresh_from_db()
    assert owner.current_sign_in_at is not None and owner.last_login is not None


def test_next_is_followed_when_local_and_ignored_when_not(client, owner):
    assert sign_in(client, "olivia", next="/users/edit")["Location"] == "/users/edit"
    client.post("/users/sign_out")
    assert sign_in(client, "olivia", next="https://evil.example/")["Location"] == "/"


def test_a_wrong_password_is_refused_and_counted(client, owner):
    response = sign_in(client, "olivia", "wrong-password")
    assert response.status_code == 200
    assert "Invalid user name or password, or the account is locked" in response.content.decode()
    owner.refresh_from_db()
    assert owner.failed_attempts == 1
    assert "_auth_user_id" not in client.session


def test_an_unknown_user_gets_the_same_message(client, owner):
    assert "Invalid user name or password, or the account is locked" in sign_in(client, "nobody").content.decode()


def test_lockout_after_too_many_failures(client, owner, options):
    options.set("lockout.max_attempts", 3)
    for _ in range(3):
        sign_in(client, "olivia", "wrong-password")
    owner.refresh_from_db()
    assert owner.is_locked()
    response = sign_in(client, "olivia")  # even the right password
    assert "the account is locked for a while" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_locked_account_reads_like_wrong_credentials(client, owner):
    """Strangers must not learn which accounts exist or are locked."""
    User.objects.filter(pk=owner.pk).update(locked_until=timezone.now() + timedelta(minutes=5))
    locked = sign_in(client, "olivia").content.decode()
    assert "the account is locked for a while" in locked
    assert "Invalid user name or password" in sign_in(client, "nobody").content.decode()


def test_a_disabled_account_is_told_so(client, owner, admin):
    from accounts.services import user_update

    user_update(user=owner, by=admin, enabled=False)
    response = sign_in(client, "olivia")
    assert "This account is disabled." in response.content.decode()
    assert "_auth_user_id" not in client.session
    # A wrong password does not reveal that the account is disabled.
    assert "This account is disabled." not in sign_in(client, "olivia", "wrong-password").content.decode()


@pytest.mark.parametrize("who", ["bot", "internal_account"])
def test_bots_and_the_internal_account_cannot_use_the_ui(client, who, request):
    account = request.getfixturevalue(who)
    password = "portus-internal-password" if who == "internal_account" else PASSWORD
    if who == "bot":
        account.set_password(PASSWORD)
        account.save()
    response = sign_in(client, account.username, password)
    assert response.status_code == 200
    assert "cannot sign in here" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_signed_in_user_is_sent_to_the_dashboard(as_user, owner):
    assert as_user(owner).get("/users/sign_in")["Location"] == "/"


def test_csrf_is_enforced(owner):
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client, "olivia").status_code == 403
    assert "_auth_user_id" not in client.session
    page = client.get("/users/sign_in")
    token = page.cookies["csrftoken"].value
    response = sign_in(client, "olivia", csrfmiddlewaretoken=token)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(owner.pk)


def test_an_empty_instance_sends_visitors_to_sign_up(client, internal_account, options):
    assert client.get("/users/sign_in")["Location"] == "/users/sign_up"
    options.set("signup.enabled", False)
    response = client.get("/users/sign_in")
    assert response.status_code == 200
    assert "manage.py create_user" in response.content.decode()


# --- sign out -------------------------------------------------------------------------------------


def test_sign_out_is_a_post(as_user, owner):
    client = as_user(owner)
    assert client.get("/users/sign_out").status_code == 405
    assert client.get("/").status_code == 200  # still signed in
    response = client.post("/users/sign_out")
    assert response.status_code == 302 and response["Location"] == "/users/sign_in"
    assert "_auth_user_id" not in client.session


def test_sign_out_needs_the_csrf_token(as_user, owner):
    client = as_user(owner, enforce_csrf=True)
    assert client.post("/users/sign_out").status_code == 403
    assert "_auth_user_id" in client.session


def test_a_session_of_an_account_that_became_a_bot_ends(as_user, owner):
    client = as_user(owner)
    User.objects.filter(pk=owner.pk).update(bot=True)
    response = client.get("/users/edit")
    assert response.status_code == 302 and response["Location"] == "/users/sign_in"
    assert "_auth_user_id" not in client.session


def test_a_disabled_users_session_no_longer_works(as_user, owner, admin):
    from accounts.services import user_update

    client = as_user(owner)
    user_update(user=owner, by=admin, enabled=False)
    assert client.get("/users/edit")["Location"].startswith("/users/sign_in")
