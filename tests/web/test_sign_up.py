"""/users/sign_up: only when enabled; the first account on an empty instance is the admin."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from namespaces.models import Namespace
from tests.conftest import PASSWORD


def form(username="newbie", **extra):
    return {"username": username, "email": f"{username}@example.org", "password": PASSWORD,
            "password_confirm": PASSWORD, **extra}


def test_disabled_sign_up_is_404(client, options, owner):
    options.set("signup.enabled", False)
    assert client.get("/users/sign_up").status_code == 404
    assert client.post("/users/sign_up", form()).status_code == 404
    assert not User.objects.filter(username="newbie").exists()


def test_get_creates_nothing(client, owner):
    before = User.objects.count()
    response = client.get("/users/sign_up", form())
    assert response.status_code == 200
    assert User.objects.count() == before


def test_sign_up_creates_a_user_with_a_personal_namespace_and_signs_them_in(client, owner, registry):
    response = client.post("/users/sign_up", form())
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(username="newbie")
    assert not user.admin and not user.bot and user.email == "newbie@example.org"
    assert Namespace.objects.filter(registry=registry, name="newbie", team__personal_of=user).exists()
    assert client.session["_auth_user_id"] == str(user.pk)


def test_the_first_user_of_an_empty_instance_is_admin(client, internal_account, registry):
    response = client.post("/users/sign_up", form("first"))
    assert response.status_code == 302
    assert User.objects.get(username="first").admin
    client.post("/users/sign_out")
    client.post("/users/sign_up", form("second"))
    assert not User.objects.get(username="second").admin


def test_the_first_user_goes_on_to_add_a_registry_when_there_is_none(client, db):
    response = client.post("/users/sign_up", form("first"))
    assert response["Location"] == "/admin/registries/new"


def test_the_page_says_the_first_account_will_be_admin(client, internal_account):
    assert "will be an <strong>administrator</strong>" in client.get("/users/sign_up").content.decode()


def test_first_user_admin_can_be_switched_off(client, internal_account, options):
    options.set("first_user_admin.enabled", False)
    client.post("/users/sign_up", form("first"))
    assert not User.objects.get(username="first").admin


@pytest.mark.parametrize("changes, field, message", [
    ({"username": "Bad Name"}, "username", ""),
    ({"password_confirm": "something-else-1"}, "password_confirm", "The two passwords differ."),
    ({"password": "short", "password_confirm": "short"}, "password", "too short"),
    ({"email": "not-an-email"}, "email", "valid email"),
])
def test_invalid_sign_ups_are_refused(client, owner, changes, field, message):
    response = client.post("/users/sign_up", {**form(), **changes})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert not User.objects.filter(email="newbie@example.org").exists()


def test_a_taken_user_name_is_refused(client, owner):
    response = client.post("/users/sign_up", form("olivia"))
    assert "already exists" in " ".join(response.context["form"].errors["username"])


def test_signed_in_users_are_sent_home(as_user, owner):
    assert as_user(owner).get("/users/sign_up")["Location"] == "/"


def test_csrf_is_enforced(owner):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/users/sign_up", form()).status_code == 403
    assert not User.objects.filter(username="newbie").exists()


def test_errors_are_tied_to_their_fields(client, owner):
    html = client.post("/users/sign_up", form("olivia")).content.decode()
    assert 'aria-invalid="true"' in html and 'aria-describedby="id_username_helptext id_username_error"' in html
    assert 'id="id_username_error"' in html and "is-invalid" in html
