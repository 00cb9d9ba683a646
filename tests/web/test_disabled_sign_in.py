"""A disabled account is told so — at sign-in with the right password, and when its open session ends — and
nobody else learns that it exists: a wrong password reads like any other and costs one hash, as always."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import get_hashers

from accounts.services import user_update
from tests.conftest import PASSWORD
from web.middleware import DISABLED_SESSION_MESSAGE

pytestmark = pytest.mark.django_db

INVALID = "Invalid user name or password"


@pytest.fixture
def hasher_runs(monkeypatch) -> list[str]:
    """One entry per password hasher run (real or dummy)."""
    runs: list[str] = []
    for hasher in get_hashers():
        original = type(hasher).verify

        def counting(self, password, encoded, _original=original):
            runs.append(encoded[:8])
            return _original(self, password, encoded)

        monkeypatch.setattr(type(hasher), "verify", counting)
    return runs


@pytest.fixture
def disabled(owner, admin):
    return user_update(user=owner, by=admin, enabled=False)


def sign_in(client, username, password=PASSWORD):
    return client.post("/users/sign_in", {"username": username, "password": password})


def test_the_right_password_of_a_disabled_account_says_what_to_do(client, disabled, hasher_runs):
    html = sign_in(client, "olivia").content.decode()
    assert "This account is disabled. An administrator can enable it again" in html
    assert "_auth_user_id" not in client.session
    assert len(hasher_runs) == 1


@pytest.mark.parametrize("username", ["olivia", "nobody-at-all"])
def test_a_wrong_password_tells_nothing_and_costs_one_hash(client, disabled, hasher_runs, username):
    html = sign_in(client, username, "wrong-password").content.decode()
    assert INVALID in html and "disabled" not in html
    assert len(hasher_runs) == 1


def test_an_open_session_of_a_now_disabled_account_ends_with_a_notice(as_user, owner, admin):
    client = as_user(owner)
    assert client.get("/users/edit").status_code == 200
    user_update(user=owner, by=admin, enabled=False)

    response = client.get("/users/edit", follow=True)
    assert response.redirect_chain[-1][0].startswith("/users/sign_in")
    assert DISABLED_SESSION_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Told once: the session is gone, the next page is an ordinary anonymous one.
    assert DISABLED_SESSION_MESSAGE not in client.get("/users/sign_in").content.decode()


def test_the_notice_also_ends_the_session_on_pages_open_to_anonymous_visitors(as_user, owner, admin, options):
    options.set("anonymous_browsing.enabled", True)
    client = as_user(owner)
    user_update(user=owner, by=admin, enabled=False)
    html = client.get("/explore", follow=True).content.decode()
    assert DISABLED_SESSION_MESSAGE in html
    assert "_auth_user_id" not in client.session


def test_an_enabled_again_account_signs_in_as_before(client, disabled, admin):
    user_update(user=disabled, by=admin, enabled=True)
    assert sign_in(client, "olivia").status_code == 302


def test_a_session_of_a_deleted_account_ends_without_a_word(as_user, outsider, admin, fake_registry):
    from accounts.services import user_delete

    client = as_user(outsider)
    user_delete(user=outsider, by=admin)
    html = client.get("/users/edit", follow=True).content.decode()
    assert DISABLED_SESSION_MESSAGE not in html
    assert "_auth_user_id" not in client.session


def test_an_anonymous_request_without_session_runs_no_query(client, registry, django_assert_num_queries):
    from web.middleware import DisabledSessionMiddleware

    middleware = DisabledSessionMiddleware(lambda request: "answered")
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert middleware(request) == "answered"
