"""The anonymous forms (sign up, sign in, password reset), fed hostile input: a page or a clear
refusal, never a 5xx, and never an account that the input should not have made."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import hostile_text


def _form(fields: dict) -> bytes:
    """A urlencoded body as a hostile client writes it: lone surrogates become invalid UTF-8 bytes."""
    return urlencode(fields, doseq=True, encoding="utf-8", errors="surrogatepass").encode("ascii")


def _post(client, url: str, fields: dict):
    return client.post(url, data=_form(fields), content_type="application/x-www-form-urlencoded")


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _field(max_size: int = 64) -> st.SearchStrategy:
    return hostile_text(max_size) | st.lists(hostile_text(16), min_size=2, max_size=3)


@pytest.mark.django_db
@FUZZ
@given(username=_field(), email=_field(), password=_field(), confirm=_field())
def test_sign_up_answers_a_page_for_any_input(client, admin, username, email, password, confirm):
    from accounts.models import User

    before = set(User.objects.values_list("username", flat=True))
    response = _post(client, "/users/sign_up", {"username": username, "email": email, "password": password,
                                              "password_confirm": confirm})
    assert response.status_code in (200, 302, 400, 403, 429), response.status_code
    made = set(User.objects.values_list("username", flat=True)) - before
    for name in made:
        # Only a valid name becomes an account, and never an admin (the instance has one already).
        assert name == (username if isinstance(username, str) else username[-1]).strip()
        assert not User.objects.get(username=name).admin


@pytest.mark.django_db
@FUZZ
@given(username=_field(), password=_field())
def test_sign_in_answers_a_page_for_any_input(client, owner, username, password):
    response = _post(client, "/users/sign_in", {"username": username, "password": password})
    assert response.status_code in (200, 400, 403, 429), response.status_code
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@FUZZ
@given(email=_field())
def test_password_reset_answers_a_page_for_any_input(client, owner, email):
    response = _post(client, "/users/password/new", {"email": email})
    assert response.status_code in (200, 302, 400, 429), response.status_code
