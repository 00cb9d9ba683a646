"""/api/v1/teams/:id/members: listed as users (with member_id and role), managed by owners."""

from __future__ import annotations

import pytest

from teams.models import Role, TeamMember

pytestmark = pytest.mark.django_db


def member_of(team, user) -> TeamMember:
    return TeamMember.objects.get(team=team, user=user)


def test_list_as_users_with_membership(client_as, team, viewer):
    listed = client_as("viewer").get(f"/api/v1/teams/{team.pk}/members").json()
    assert len(listed) == 4  # one row per member, though each also belongs to a personal team
    rows = {row["username"]: row for row in listed}
    assert set(rows) == {"olivia", "carl", "vera", "ci-bot"}
    assert rows["vera"]["role"] == "viewer"
    assert rows["vera"]["member_id"] == member_of(team, viewer).pk
    assert rows["vera"]["id"] == viewer.pk


def test_list_sorted_by_role(client_as, team):
    rows = client_as("owner").get(f"/api/v1/teams/{team.pk}/members", {"sort_attr": "role"}).json()
    assert [row["role"] for row in rows] == sorted(row["role"] for row in rows)


@pytest.mark.parametrize("role, status", [("outsider", 404), ("anonymous", 401), ("admin", 200)])
def test_list_access(client_as, team, role, status):
    assert client_as(role).get(f"/api/v1/teams/{team.pk}/members").status_code == status


class TestAdd:
    def test_owner_adds(self, client_as, team, outsider):
        response = client_as("owner").post(f"/api/v1/teams/{team.pk}/members",
                                           {"user": "oscar", "role": "contributor"}, format="json")
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"id", "team_id", "user_id", "created_at", "updated_at", "role", "display_name",
                             "admin", "current"}
        assert body["user_id"] == outsider.pk and body["role"] == "contributor" and body["current"] is False

    @pytest.mark.parametrize("role, status", [("contributor", 403), ("viewer", 403), ("bot", 403),
                                              ("outsider", 404), ("admin", 201)])
    def test_who_may(self, client_as, team, admin, outsider, role, status):
        response = client_as(role).post(f"/api/v1/teams/{team.pk}/members", {"user": "oscar", "role": "viewer"},
                                        format="json")
        assert response.status_code == status

    @pytest.mark.parametrize("role", ["owner", "admin"])
    def test_the_internal_account_cannot_be_added(self, client_as, team, internal_account, role):
        """The UI refuses it, and so does the API: one rule, in team_member_add."""
        response = client_as(role).post(f"/api/v1/teams/{team.pk}/members",
                                        {"user": internal_account.username, "role": "viewer"}, format="json")
        assert response.status_code == 422
        assert "user" in response.json()["message"]
        assert not TeamMember.objects.filter(team=team, user=internal_account).exists()

    def test_a_bot_can_be_added(self, client_as, team, owner):
        from accounts.services import user_create

        robot = user_create(username="deploy-bot", email=None, password=None, bot=True, by=owner)
        response = client_as("owner").post(f"/api/v1/teams/{team.pk}/members",
                                           {"user": "deploy-bot", "role": "contributor"}, format="json")
        assert response.status_code == 201
        assert member_of(team, robot).role == Role.CONTRIBUTOR

    def test_unknown_user_is_400(self, client_as, team):
        response = client_as("owner").post(f"/api/v1/teams/{team.pk}/members", {"user": "ghost", "role": "viewer"},
                                           format="json")
        assert response.status_code == 400
        assert "user" in response.json()["message"]

    def test_unknown_role_is_400(self, client_as, team, outsider):
        response = client_as("owner").post(f"/api/v1/teams/{team.pk}/members", {"user": "oscar", "role": "boss"},
                                           format="json")
        assert response.status_code == 400
        assert "role" in response.json()["message"]

    def test_existing_member_is_422(self, client_as, team):
        response = client_as("owner").post(f"/api/v1/teams/{team.pk}/members", {"user": "vera", "role": "viewer"},
                                           format="json")
        assert response.status_code == 422


class TestUpdate:
    def test_change_role(self, client_as, team, viewer):
        member = member_of(team, viewer)
        response = client_as("owner").put(f"/api/v1/teams/{team.pk}/members/{member.pk}", {"role": "owner"},
                                          format="json")
        assert response.status_code == 200
        assert response.json()["role"] == "owner"
        member.refresh_from_db()
        assert member.role == Role.OWNER

    def test_last_owner_stays(self, client_as, team, owner):
        member = member_of(team, owner)
        response = client_as("owner").put(f"/api/v1/teams/{team.pk}/members/{member.pk}", {"role": "viewer"},
                                          format="json")
        assert response.status_code == 422
        assert "role" in response.json()["message"]

    def test_member_of_another_team_is_404(self, client_as, team, outsider):
        other = outsider.personal_team.members.get()
        response = client_as("owner").put(f"/api/v1/teams/{team.pk}/members/{other.pk}", {"role": "viewer"},
                                          format="json")
        assert response.status_code == 404

    def test_viewer_cannot(self, client_as, team, contributor):
        member = member_of(team, contributor)
        response = client_as("viewer").put(f"/api/v1/teams/{team.pk}/members/{member.pk}", {"role": "viewer"},
                                           format="json")
        assert response.status_code == 403


class TestRemove:
    def test_owner_removes(self, client_as, team, viewer):
        member = member_of(team, viewer)
        assert client_as("owner").delete(f"/api/v1/teams/{team.pk}/members/{member.pk}").status_code == 204
        assert not TeamMember.objects.filter(pk=member.pk).exists()

    def test_last_owner_stays(self, client_as, team, owner):
        member = member_of(team, owner)
        response = client_as("owner").delete(f"/api/v1/teams/{team.pk}/members/{member.pk}")
        assert response.status_code == 422

    def test_contributor_cannot(self, client_as, team, viewer):
        member = member_of(team, viewer)
        assert client_as("contributor").delete(f"/api/v1/teams/{team.pk}/members/{member.pk}").status_code == 403

    def test_outsider_gets_404(self, client_as, team, viewer):
        member = member_of(team, viewer)
        assert client_as("outsider").delete(f"/api/v1/teams/{team.pk}/members/{member.pk}").status_code == 404

    def test_removed_member_loses_access_at_once(self, client_as, team, viewer, namespace):
        client = client_as("viewer")
        assert client.get(f"/api/v1/namespaces/{namespace.pk}").status_code == 200
        client_as("owner").delete(f"/api/v1/teams/{team.pk}/members/{member_of(team, viewer).pk}")
        assert client.get(f"/api/v1/namespaces/{namespace.pk}").status_code == 404
