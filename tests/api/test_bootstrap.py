"""/api/v1/users/bootstrap: the first admin of an empty instance, with an application token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import ApplicationToken, User

pytestmark = pytest.mark.django_db

FIRST = {"user": {"username": "root", "email": "root@example.org", "password": "a-long-enough-password"}}


def test_bootstrap_creates_an_admin_and_answers_a_token(db):
    response = APIClient().post("/api/v1/users/bootstrap", FIRST, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"id", "application", "plain_token", "scopes", "expires_at"}
    assert body["scopes"] == ["registry:push", "api:write"]  # the default: what tokens could always do
    assert body["application"] == "bootstrap"
    root = User.objects.get(username="root")
    assert root.admin
    assert ApplicationToken.find(body["plain_token"]).user == root
    client = APIClient()
    client.credentials(HTTP_PORTUS_AUTH=f"root:{body['plain_token']}")
    assert client.get("/api/v1/users").status_code == 200


def test_internal_account_does_not_count(internal_account):
    assert APIClient().post("/api/v1/users/bootstrap", FIRST, format="json").status_code == 201


def test_refused_once_someone_exists(owner):
    response = APIClient().post("/api/v1/users/bootstrap", FIRST, format="json")
    assert response.status_code == 400
    assert response.json() == {"message": "You can only use this when there are no users on the system."}
    assert not User.objects.filter(username="root").exists()


def test_405_when_first_user_admin_is_off(db, options):
    options.set("first_user_admin.enabled", False)
    response = APIClient().post("/api/v1/users/bootstrap", FIRST, format="json")
    assert response.status_code == 405
    assert "message" in response.json()


def test_missing_fields_are_400(db):
    response = APIClient().post("/api/v1/users/bootstrap", {"user": {"username": "root"}}, format="json")
    assert response.status_code == 400
    assert set(response.json()["message"]["user"]) == {"email", "password"}


def test_weak_password_is_422_and_creates_nobody(db):
    body = {"user": {**FIRST["user"], "password": "123"}}
    response = APIClient().post("/api/v1/users/bootstrap", body, format="json")
    assert response.status_code == 422
    assert "password" in response.json()["message"]
    assert not User.objects.exists()


def test_bad_header_does_not_matter(db):
    client = APIClient()
    client.credentials(HTTP_PORTUS_AUTH="who:ever")
    assert client.post("/api/v1/users/bootstrap", FIRST, format="json").status_code == 201
