"""/api/v1/teams: members see their teams, outsiders get 404, owners manage (user_permission.manage_team)."""

from __future__ import annotations

import pytest

from ldapauth.models import LdapSyncState
from namespaces.services import namespace_create
from teams.models import Team, TeamMember
from teams.services import team_create

pytestmark = pytest.mark.django_db

MEMBERS = ["admin", "owner", "contributor", "viewer", "bot"]


@pytest.mark.parametrize("role, visible", [
    ("admin", True), ("owner", True), ("contributor", True), ("viewer", True), ("bot", True), ("outsider", False),
])
def test_list_shows_the_callers_teams(client_as, team, role, visible):
    response = client_as(role).get("/api/v1/teams")
    assert response.status_code == 200
    assert ("qa" in [row["name"] for row in response.json()]) is visible


def test_list_hides_personal_teams(client_as, team):
    names = [row["name"] for row in client_as("admin").get("/api/v1/teams", {"all": "true"}).json()]
    assert names == ["qa"]


def test_anonymous_is_401(client_as, team):
    assert client_as("anonymous").get("/api/v1/teams").status_code == 401


def test_entity(client_as, team, namespace):
    body = client_as("viewer").get(f"/api/v1/teams/{team.pk}").json()
    assert set(body) == {"id", "name", "created_at", "updated_at", "description", "description_md", "hidden",
                         "role", "updatable", "destroyable", "users_count", "namespaces_count"}
    assert body["role"] == "Viewer"
    assert body["updatable"] is False and body["destroyable"] is False
    assert body["users_count"] == 4 and body["namespaces_count"] == 1
    assert client_as("owner").get(f"/api/v1/teams/{team.pk}").json()["updatable"] is True
    assert client_as("admin").get(f"/api/v1/teams/{team.pk}").json()["role"] is None


def test_description_md_is_sanitised(client_as, team):
    team.description = "**bold** <script>alert(1)</script>"
    team.save()
    body = client_as("owner").get(f"/api/v1/teams/{team.pk}").json()
    assert "<strong>bold</strong>" in body["description_md"]
    assert "<script" not in body["description_md"]


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("owner", 200), ("contributor", 200), ("viewer", 200), ("bot", 200), ("outsider", 404),
    ("anonymous", 401),
])
def test_show(client_as, team, role, status):
    assert client_as(role).get(f"/api/v1/teams/{team.pk}").status_code == status


def test_personal_team_is_404_even_for_admins(client_as, owner):
    assert client_as("admin").get(f"/api/v1/teams/{owner.personal_team.pk}").status_code == 404


class TestCreate:
    def test_signed_in_user_creates_and_owns(self, client_as, outsider):
        response = client_as("outsider").post("/api/v1/teams", {"name": "ops", "description": "Ops"},
                                              format="json")
        assert response.status_code == 201
        assert response.json()["role"] == "Owner"
        assert TeamMember.objects.get(team__name="ops").user == outsider

    def test_bot_cannot_create(self, client_as, team):
        assert client_as("bot").post("/api/v1/teams", {"name": "ops"}, format="json").status_code == 403

    def test_disabled_by_option(self, client_as, outsider, options):
        options.set("user_permission.create_team.enabled", False)
        assert client_as("outsider").post("/api/v1/teams", {"name": "ops"}, format="json").status_code == 403
        assert client_as("admin").post("/api/v1/teams", {"name": "ops"}, format="json").status_code == 201

    def test_admin_names_the_owner(self, client_as, outsider):
        response = client_as("admin").post("/api/v1/teams", {"name": "ops", "owner_id": outsider.pk}, format="json")
        assert response.status_code == 201
        assert TeamMember.objects.get(team__name="ops").user == outsider

    def test_non_admin_cannot_name_an_owner(self, client_as, outsider, owner):
        response = client_as("outsider").post("/api/v1/teams", {"name": "ops", "owner_id": owner.pk},
                                              format="json")
        assert response.status_code == 403

    def test_the_internal_account_cannot_own_a_team(self, client_as, internal_account):
        response = client_as("admin").post("/api/v1/teams", {"name": "ops", "owner_id": internal_account.pk},
                                           format="json")
        assert response.status_code == 422
        assert not Team.objects.filter(name="ops").exists()

    def test_unknown_owner_is_400(self, client_as, admin):
        response = client_as("admin").post("/api/v1/teams", {"name": "ops", "owner_id": 99999}, format="json")
        assert response.status_code == 400
        assert "owner_id" in response.json()["message"]

    def test_taken_name_is_422(self, client_as, team):
        response = client_as("outsider").post("/api/v1/teams", {"name": "QA"}, format="json")
        assert response.status_code == 422
        assert "name" in response.json()["message"]

    def test_slash_is_422(self, client_as, outsider):
        response = client_as("outsider").post("/api/v1/teams", {"name": "a/b"}, format="json")
        assert response.status_code == 422


class TestUpdate:
    @pytest.mark.parametrize("role, status", [
        ("admin", 200), ("owner", 200), ("contributor", 403), ("viewer", 403), ("bot", 403), ("outsider", 404),
        ("anonymous", 401),
    ])
    def test_who_may(self, client_as, team, role, status):
        response = client_as(role).put(f"/api/v1/teams/{team.pk}", {"team": {"description": "new"}}, format="json")
        assert response.status_code == status

    def test_rename(self, client_as, team):
        response = client_as("owner").put(f"/api/v1/teams/{team.pk}", {"team": {"name": "quality"}}, format="json")
        assert response.json()["name"] == "quality"

    def test_owners_may_not_when_manage_team_is_off(self, client_as, team, options):
        options.set("user_permission.manage_team.enabled", False)
        response = client_as("owner").put(f"/api/v1/teams/{team.pk}", {"team": {"name": "q"}}, format="json")
        assert response.status_code == 403

    def test_body_must_hold_team(self, client_as, team):
        response = client_as("owner").put(f"/api/v1/teams/{team.pk}", {"name": "q"}, format="json")
        assert response.status_code == 400
        assert "team" in response.json()["message"]


class TestDelete:
    def test_team_without_namespaces(self, client_as, owner):
        empty = team_create(name="empty", owner=owner)
        assert client_as("owner").delete(f"/api/v1/teams/{empty.pk}").status_code == 204
        assert not Team.objects.filter(pk=empty.pk).exists()

    def test_namespaces_need_a_new_team(self, client_as, team, namespace):
        response = client_as("owner").delete(f"/api/v1/teams/{team.pk}")
        assert response.status_code == 422
        assert "new_team" in response.json()["message"]

    def test_namespaces_move_to_new_team(self, client_as, team, namespace, owner):
        team_create(name="heirs", owner=owner)
        response = client_as("owner").delete(f"/api/v1/teams/{team.pk}?new_team=heirs")
        assert response.status_code == 204
        namespace.refresh_from_db()
        assert namespace.team.name == "heirs"

    def test_unknown_new_team_is_400(self, client_as, team, namespace):
        response = client_as("owner").delete(f"/api/v1/teams/{team.pk}?new_team=nope")
        assert response.status_code == 400
        assert "new_team" in response.json()["message"]

    @pytest.mark.parametrize("role, status", [("viewer", 403), ("contributor", 204)])
    def test_namespaces_move_only_where_the_caller_may_create_namespaces(self, client_as, team, namespace, owner,
                                                                        outsider, role, status):
        """As in the UI and PUT /namespaces: moving namespaces into a team is creating them there."""
        from teams.services import team_member_add

        heirs = team_create(name="heirs", owner=outsider)
        team_member_add(team=heirs, user=owner, role=role, by=outsider)
        response = client_as("owner").delete(f"/api/v1/teams/{team.pk}?new_team=heirs")
        assert response.status_code == status, response.content
        namespace.refresh_from_db()
        assert namespace.team.name == ("heirs" if status == 204 else "qa")
        assert Team.objects.filter(pk=team.pk).exists() is (status != 204)

    def test_namespaces_do_not_move_when_namespace_creation_is_off(self, client_as, team, namespace, owner,
                                                                  options):
        team_create(name="heirs", owner=owner)
        options.set("user_permission.create_namespace.enabled", False)
        response = client_as("owner").delete(f"/api/v1/teams/{team.pk}?new_team=heirs")
        assert response.status_code == 403
        namespace.refresh_from_db()
        assert namespace.team.name == "qa"

    @pytest.mark.parametrize("role, status", [("viewer", 403), ("contributor", 403), ("outsider", 404)])
    def test_who_may_not(self, client_as, team, role, status):
        assert client_as(role).delete(f"/api/v1/teams/{team.pk}").status_code == status


class TestNamespaces:
    def test_lists_the_teams_namespaces(self, client_as, team, namespace, owner):
        namespace_create(name="qa-tools", team=team, by=owner)
        response = client_as("viewer").get(f"/api/v1/teams/{team.pk}/namespaces")
        assert [row["name"] for row in response.json()] == ["qa", "qa-tools"]

    def test_outsider_is_404(self, client_as, team, namespace):
        assert client_as("outsider").get(f"/api/v1/teams/{team.pk}/namespaces").status_code == 404


class TestLdapCheck:
    def test_405_when_ldap_is_off(self, client_as, team):
        response = client_as("owner").post(f"/api/v1/teams/{team.pk}/ldap_check")
        assert response.status_code == 405
        assert response.json() == {"message": "This instance has disabled this endpoint."}

    def test_with_ldap_group_sync(self, client_as, team, options):
        options.set("ldap.enabled", True)
        assert LdapSyncState.objects.filter(requested_at__isnull=False).count() == 0
        assert client_as("owner").post(f"/api/v1/teams/{team.pk}/ldap_check").status_code == 200
        assert LdapSyncState.objects.get().requested_at is not None  # the background runs at its next turn
        assert client_as("viewer").post(f"/api/v1/teams/{team.pk}/ldap_check").status_code == 403
        assert client_as("outsider").post(f"/api/v1/teams/{team.pk}/ldap_check").status_code == 404
