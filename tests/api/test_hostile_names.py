"""Every door that validates a name answers a hostile one as fast as a plainly wrong one (no ReDoS).

The baseline is the same request with a name that fails at its first character, measured in the same test."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tests.hostile import assert_answers_fast, hostile_shapes

pytestmark = pytest.mark.django_db

# The sign-up form and the user APIs take at most 64 characters; namespace names 255.
USER_SHAPES = ["letters then !", "letter-dash pairs", "mixed separators", "one run of dashes"]


def _baseline(length: int) -> list[str]:
    return ["!" + "a" * (length - 1)]


@pytest.mark.parametrize("shape", USER_SHAPES)
def test_sign_up(client, registry, shape):
    def sign_up(name: str):
        response = Client().post("/users/sign_up", {"username": name, "email": "x@example.org",
                                                   "password": PASSWORD, "password_confirm": PASSWORD})
        assert response.status_code == 200  # the form again, with the error
        return response

    assert_answers_fast(sign_up, hostile_shapes(64)[shape], _baseline(64), calls=2)


@pytest.mark.parametrize("shape", USER_SHAPES)
def test_bootstrap(registry, shape):
    from rest_framework.test import APIClient

    def bootstrap(name: str):
        response = APIClient().post("/api/v1/users/bootstrap", {"user": {
            "username": name, "email": "x@example.org", "password": PASSWORD}}, format="json")
        assert response.status_code == 422, response.content
        return response

    assert_answers_fast(bootstrap, hostile_shapes(64)[shape], _baseline(64), calls=2)


@pytest.mark.parametrize("shape", USER_SHAPES)
def test_user_creation_by_an_admin(client_as, shape):
    client = client_as("admin")

    def create(name: str):
        response = client.post("/api/v1/users", {"user": {"username": name, "email": "x@example.org",
                                                          "password": PASSWORD}}, format="json")
        assert response.status_code == 422, response.content
        return response

    assert_answers_fast(create, hostile_shapes(64)[shape], _baseline(64), calls=2)


@pytest.mark.parametrize("shape", sorted(hostile_shapes(255)))
def test_namespace_name_check(client_as, shape):
    client = client_as("viewer")

    def validate(name: str):
        response = client.get("/api/v1/namespaces/validate", {"name": name})
        # (The name is stripped first: the trailing-newline shape is then a valid name.)
        assert response.status_code == 200
        return response

    assert_answers_fast(validate, hostile_shapes(255)[shape], _baseline(255), calls=2)


@pytest.mark.parametrize("shape", ["letters then !", "letter-dash pairs", "mixed separators", "dashes"])
def test_namespace_creation_through_the_api(client_as, shape):
    client = client_as("owner")

    def create(name: str):
        response = client.post("/api/v1/namespaces", {"name": name, "team": "qa"}, format="json")
        assert response.status_code in (400, 422), response.content
        return response

    assert_answers_fast(create, hostile_shapes(255)[shape], _baseline(255), calls=2)


@pytest.mark.parametrize("shape", ["letters then !", "letter-dash pairs", "mixed separators"])
def test_namespace_form(owner, team, shape):
    client = Client()
    client.force_login(owner, backend="accounts.backends.PortusBackend")

    def create(name: str):
        response = client.post("/namespaces/new", {"name": name, "team": team.pk})
        assert response.status_code == 200  # the form again, with the error
        return response

    assert_answers_fast(create, hostile_shapes(255)[shape], _baseline(255), calls=2)
