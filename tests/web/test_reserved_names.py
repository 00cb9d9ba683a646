"""Reserved names (portus.names.RESERVED_NAMES): strangers cannot take the internal account's name, nor names
users would take for the service's or its administrators'; admins may give the latter deliberately."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.models import User
from accounts.services import user_create
from namespaces.models import Namespace
from namespaces.services import namespace_create
from tests.api.conftest import client_for
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def sign_up(username: str):
    return Client().post("/users/sign_up", {"username": username, "email": f"{username}@example.org",
                                            "password": PASSWORD, "password_confirm": PASSWORD})


@pytest.mark.parametrize("name", ["portus", "admin", "administrator", "root", "registry", "api", "v2", "users",
                                  "explore", "search", "namespaces", "teams", "help", "about", "static"])
def test_sign_up_refuses_a_reserved_name(owner, name):
    response = sign_up(name)
    assert response.status_code == 200
    assert "is reserved" in response.content.decode()
    assert not User.objects.filter(username=name).exists()


def test_sign_up_of_an_ordinary_name_still_works(owner):
    assert sign_up("ivan").status_code == 302 and User.objects.filter(username="ivan").exists()


def test_an_admin_may_give_a_reserved_name_but_never_the_internal_one(admin):
    client = client_for(admin)
    body = {"user": {"username": "registry", "email": "r@example.org", "password": PASSWORD, "bot": True}}
    assert client.post("/api/v1/users", body, format="json").status_code == 201
    body["user"].update(username="portus", email="p@example.org")
    response = client.post("/api/v1/users", body, format="json")
    assert response.status_code == 422 and "internal account" in str(response.json()["message"])
    assert not User.objects.filter(username="portus").exists()


def test_the_first_admin_may_call_themselves_admin(registry):
    assert sign_up("admin").status_code == 302
    assert User.objects.get(username="admin").admin


def test_nobody_takes_the_internal_name_not_even_on_an_empty_instance(registry):
    response = Client().post("/api/v1/users/bootstrap", {"user": {
        "username": "portus", "email": "p@example.org", "password": PASSWORD}}, content_type="application/json")
    assert response.status_code == 422
    assert not User.objects.filter(username="portus").exists()


def test_namespaces_share_the_reserved_names(owner, admin, team, registry):
    with pytest.raises(ValidationError, match="reserved"):
        namespace_create(name="admin", team=team, by=owner, registry=registry)
    with pytest.raises(ValidationError, match="reserved"):
        namespace_create(name="portus", team=team, by=admin, registry=registry)
    assert namespace_create(name="registry", team=team, by=admin, registry=registry).name == "registry"
    response = client_for(owner).get("/api/v1/namespaces/validate", {"name": "root"})
    assert response.json()["valid"] is False


def test_an_admin_push_does_not_create_the_internal_namespace(admin, registry):
    from namespaces.services import namespace_for_push

    assert namespace_for_push(registry=registry, name="portus", user=admin) is None
    assert not Namespace.objects.filter(name="portus").exists()


def test_names_are_matched_in_any_case_before_the_grammar_refuses_them(owner):
    with pytest.raises(ValidationError):
        user_create(username="Admin", email="a@example.org", password=PASSWORD, check_password=False)
