"""/api/v1/users/:id/application_tokens and /api/v1/users/application_tokens/:id."""

from __future__ import annotations

import pytest

from accounts.models import ApplicationToken
from accounts.services import application_token_create

pytestmark = pytest.mark.django_db


def test_own_tokens_are_listed_without_secrets(client_as, owner):
    client = client_as("owner")
    application_token_create(user=owner, application="ci", by=owner)
    rows = client.get(f"/api/v1/users/{owner.pk}/application_tokens").json()
    assert "ci" in [row["application"] for row in rows]
    assert all(set(row) == {"id", "application", "prefix", "scopes", "created_at", "created_by", "expires_at",
                            "last_used_at", "last_used_from"} for row in rows)


def test_create_answers_the_secret_once(client_as, owner):
    response = client_as("owner").post(f"/api/v1/users/{owner.pk}/application_tokens", {"application": "laptop"},
                                       format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"id", "application", "plain_token", "scopes", "expires_at"}
    assert body["scopes"] == ["registry:push", "api:write"]  # the default: what tokens could always do
    token = ApplicationToken.objects.get(pk=body["id"])
    assert token.digest != body["plain_token"] and body["plain_token"] not in token.digest
    assert ApplicationToken.find(body["plain_token"]) == token


def test_duplicate_application_is_422(client_as, owner):
    client = client_as("owner")
    client.post(f"/api/v1/users/{owner.pk}/application_tokens", {"application": "laptop"}, format="json")
    response = client.post(f"/api/v1/users/{owner.pk}/application_tokens", {"application": "laptop"}, format="json")
    assert response.status_code == 422
    assert "application" in response.json()["message"]


def test_missing_application_is_400(client_as, owner):
    response = client_as("owner").post(f"/api/v1/users/{owner.pk}/application_tokens", {}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == {"application": ["This field is required."]}


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("contributor", 403), ("outsider", 403), ("bot", 403), ("anonymous", 401),
])
def test_someone_elses_tokens(client_as, owner, role, status):
    assert client_as(role).get(f"/api/v1/users/{owner.pk}/application_tokens").status_code == status
    created = client_as(role).post(f"/api/v1/users/{owner.pk}/application_tokens", {"application": "x"},
                                   format="json")
    assert created.status_code == (201 if status == 200 else status)


def test_unknown_user_is_404_for_admins_and_403_for_others(client_as):
    assert client_as("admin").get("/api/v1/users/999999/application_tokens").status_code == 404
    assert client_as("owner").get("/api/v1/users/999999/application_tokens").status_code == 403


def test_bot_manages_its_own_tokens(client_as, bot):
    response = client_as("bot").post(f"/api/v1/users/{bot.pk}/application_tokens", {"application": "deploy"},
                                     format="json")
    assert response.status_code == 201


def test_revoke_own_token(client_as, owner):
    token, _ = application_token_create(user=owner, application="old", by=owner)
    response = client_as("owner").delete(f"/api/v1/users/application_tokens/{token.pk}")
    assert response.status_code == 204
    assert not ApplicationToken.objects.filter(pk=token.pk).exists()


def test_admin_revokes_anyones_token(client_as, owner):
    token, _ = application_token_create(user=owner, application="old", by=owner)
    assert client_as("admin").delete(f"/api/v1/users/application_tokens/{token.pk}").status_code == 204


def test_someone_elses_token_is_404(client_as, owner):
    token, _ = application_token_create(user=owner, application="old", by=owner)
    assert client_as("outsider").delete(f"/api/v1/users/application_tokens/{token.pk}").status_code == 404
    assert ApplicationToken.objects.filter(pk=token.pk).exists()


def test_revoked_token_stops_working(owner, as_user):
    from rest_framework.test import APIClient

    token, plain = application_token_create(user=owner, application="old", by=owner)
    client = APIClient()
    client.credentials(HTTP_PORTUS_AUTH=f"olivia:{plain}")
    assert client.get("/api/version").status_code == 200
    as_user(owner).delete(f"/api/v1/users/application_tokens/{token.pk}")
    assert client.get("/api/version").status_code == 401
