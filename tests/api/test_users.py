"""/api/v1/users: admins only; show by id or email; create, update, delete through accounts.services."""

from __future__ import annotations

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db

NEW_USER = {"user": {"username": "nina", "email": "nina@example.org", "password": "a-long-enough-password"}}


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("owner", 403), ("contributor", 403), ("viewer", 403), ("outsider", 403), ("bot", 403),
    ("anonymous", 401),
])
def test_list_is_for_admins(client_as, role, status):
    response = client_as(role).get("/api/v1/users")
    assert response.status_code == status
    if status == 403:
        assert response.json() == {"message": "Authorization fails"}


def test_list_shows_portus_fields(client_as, namespace, owner):
    rows = {row["username"]: row for row in client_as("admin").get("/api/v1/users", {"all": "true"}).json()}
    olivia = rows["olivia"]
    assert set(olivia) == {
        "id", "username", "email", "current_sign_in_at", "last_sign_in_at", "created_at", "updated_at", "admin",
        "enabled", "locked_at", "namespace_id", "display_name", "bot", "display_username", "namespaces_count",
        "teams_count",
    }
    assert olivia["email"] == "olivia@example.org"
    assert olivia["namespace_id"] == owner.personal_team.namespaces.get().pk
    assert olivia["teams_count"] == 1  # qa (her personal team is hidden)
    assert olivia["namespaces_count"] == 2  # her personal namespace and qa
    assert rows["admin"]["admin"] is True
    assert rows["ci-bot"]["bot"] is True


@pytest.mark.parametrize("ident", ["id", "email"])
def test_show_by_id_or_email(client_as, owner, ident):
    key = str(owner.pk) if ident == "id" else owner.email
    response = client_as("admin").get(f"/api/v1/users/{key}")
    assert response.status_code == 200
    assert response.json()["username"] == "olivia"


def test_show_unknown_is_404(client_as):
    assert client_as("admin").get("/api/v1/users/999999").status_code == 404
    assert client_as("admin").get("/api/v1/users/nobody@example.org").status_code == 404


def test_show_is_403_for_non_admins_whether_or_not_the_user_exists(client_as, owner):
    assert client_as("viewer").get(f"/api/v1/users/{owner.pk}").status_code == 403
    assert client_as("viewer").get("/api/v1/users/999999").status_code == 403


def test_admin_creates_a_user(client_as):
    response = client_as("admin").post("/api/v1/users", NEW_USER, format="json")
    assert response.status_code == 201
    assert response.json()["username"] == "nina"
    nina = User.objects.get(username="nina")
    assert nina.check_password("a-long-enough-password")
    assert nina.personal_team is not None


def test_non_admin_cannot_create_a_user(client_as):
    assert client_as("owner").post("/api/v1/users", NEW_USER, format="json").status_code == 403
    assert not User.objects.filter(username="nina").exists()


def test_create_bot_without_email_or_password(client_as):
    response = client_as("admin").post("/api/v1/users", {"user": {"username": "robot", "bot": True}},
                                       format="json")
    assert response.status_code == 201
    assert response.json()["bot"] is True
    assert response.json()["email"] is None


def test_create_with_a_taken_name_is_422_naming_the_field(client_as, owner):
    body = {"user": {**NEW_USER["user"], "username": "olivia"}}
    response = client_as("admin").post("/api/v1/users", body, format="json")
    assert response.status_code == 422
    assert "username" in response.json()["message"]


def test_create_with_an_invalid_name_is_422(client_as):
    body = {"user": {**NEW_USER["user"], "username": "Not Valid"}}
    response = client_as("admin").post("/api/v1/users", body, format="json")
    assert response.status_code == 422
    assert "username" in response.json()["message"]


def test_weak_password_is_422_naming_password(client_as):
    body = {"user": {**NEW_USER["user"], "password": "short"}}
    response = client_as("admin").post("/api/v1/users", body, format="json")
    assert response.status_code == 422
    assert "password" in response.json()["message"]


def test_bad_email_is_400_naming_it(client_as):
    body = {"user": {**NEW_USER["user"], "email": "not-an-email"}}
    response = client_as("admin").post("/api/v1/users", body, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["message"]["user"]


def test_update(client_as, owner):
    response = client_as("admin").put(f"/api/v1/users/{owner.pk}",
                                      {"user": {"display_name": "Olivia O.", "email": "o@example.org"}},
                                      format="json")
    assert response.status_code == 200
    assert response.json()["display_name"] == "Olivia O."
    owner.refresh_from_db()
    assert owner.email == "o@example.org"


def test_update_disables_and_promotes(client_as, owner):
    response = client_as("admin").put(f"/api/v1/users/{owner.email}", {"user": {"admin": True, "enabled": False}},
                                      format="json")
    assert response.status_code == 200
    assert response.json()["admin"] is True and response.json()["enabled"] is False


def test_update_password(client_as, owner):
    client_as("admin").put(f"/api/v1/users/{owner.pk}", {"user": {"password": "another-long-password"}},
                           format="json")
    owner.refresh_from_db()
    assert owner.check_password("another-long-password")


def test_username_cannot_change(client_as, owner):
    response = client_as("admin").put(f"/api/v1/users/{owner.pk}", {"user": {"username": "liv"}}, format="json")
    assert response.status_code == 422
    assert "username" in response.json()["message"]
    same = client_as("admin").put(f"/api/v1/users/{owner.pk}", {"user": {"username": "olivia"}}, format="json")
    assert same.status_code == 200


def test_last_admin_cannot_be_demoted(client_as, admin):
    response = client_as("admin").put(f"/api/v1/users/{admin.pk}", {"user": {"admin": False}}, format="json")
    assert response.status_code == 422
    assert "admin" in response.json()["message"]


def test_update_by_non_admin_is_403(client_as, owner):
    response = client_as("owner").put(f"/api/v1/users/{owner.pk}", {"user": {"admin": True}}, format="json")
    assert response.status_code == 403


def test_update_unknown_is_404(client_as):
    assert client_as("admin").put("/api/v1/users/99999", {"user": {}}, format="json").status_code == 404


def test_delete(client_as, outsider):
    response = client_as("admin").delete(f"/api/v1/users/{outsider.pk}")
    assert response.status_code == 204
    assert not User.objects.filter(pk=outsider.pk).exists()


def test_delete_the_only_owner_of_a_team_is_422(client_as, owner, team):
    response = client_as("admin").delete(f"/api/v1/users/{owner.pk}")
    assert response.status_code == 422
    assert "user" in response.json()["message"]


def test_delete_by_non_admin_is_403(client_as, outsider):
    assert client_as("owner").delete(f"/api/v1/users/{outsider.pk}").status_code == 403


def test_delete_the_internal_account_is_422(client_as, internal_account):
    assert client_as("admin").delete(f"/api/v1/users/{internal_account.pk}").status_code == 422
