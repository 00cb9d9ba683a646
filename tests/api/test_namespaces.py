"""/api/v1/namespaces: who sees (the pull rule), who creates, manages, changes visibility, deletes."""

from __future__ import annotations

import pytest

from namespaces.models import Namespace

pytestmark = pytest.mark.django_db

EVERYONE = ["admin", "owner", "contributor", "viewer", "bot", "outsider"]


def listed(client) -> list[str]:
    return [row["name"] for row in client.get("/api/v1/namespaces", {"all": "true"}).json()]


@pytest.mark.parametrize("role, visible", [
    ("admin", True), ("owner", True), ("contributor", True), ("viewer", True), ("bot", True), ("outsider", False),
])
def test_private_namespace_is_listed_for_members_only(client_as, namespace, role, visible):
    assert ("qa" in listed(client_as(role))) is visible


@pytest.mark.parametrize("visibility", ["protected", "public"])
def test_protected_and_public_are_listed_for_everyone_signed_in(client_as, namespace, visibility):
    namespace.visibility = visibility
    namespace.save()
    assert "qa" in listed(client_as("outsider"))


def test_same_name_in_two_registries_says_which_is_which(client_as, namespace, team, owner):
    from namespaces.services import namespace_create
    from registries.services import registry_create

    other = registry_create(name="second", hostname="second.test.lan:5000", use_ssl=True, by=None, check=False)
    namespace_create(name="qa", team=team, by=owner, registry=other)
    rows = [row for row in client_as("viewer").get("/api/v1/namespaces", {"all": "true"}).json()
            if row["name"] == "qa"]
    assert sorted((row["registry"]["name"], row["registry"]["hostname"]) for row in rows) == [
        ("main", "registry.test.lan:5000"), ("second", "second.test.lan:5000")]


def test_global_namespace_is_named_after_its_registry(client_as, registry):
    rows = client_as("outsider").get("/api/v1/namespaces", {"all": "true"}).json()
    glob = next(row for row in rows if row["global"])
    assert glob["name"] == "registry.test.lan:5000"


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("owner", 200), ("contributor", 200), ("viewer", 200), ("bot", 200), ("outsider", 404),
    ("anonymous", 401),
])
def test_show_private(client_as, namespace, role, status):
    assert client_as(role).get(f"/api/v1/namespaces/{namespace.pk}").status_code == status


def test_entity_and_permissions(client_as, namespace, repository):
    body = client_as("viewer").get(f"/api/v1/namespaces/{namespace.pk}").json()
    assert set(body) == {"id", "name", "created_at", "updated_at", "description", "description_md", "team",
                         "registry", "repositories_count", "webhooks_count", "visibility", "global", "orphan",
                         "updatable", "destroyable", "permissions"}
    assert body["team"] == {"id": namespace.team_id, "name": "qa", "hidden": False}
    assert body["registry"] == {"id": namespace.registry_id, "name": "main", "hostname": "registry.test.lan:5000"}
    assert body["repositories_count"] == 1 and body["visibility"] == "private"
    assert body["permissions"] == {"role": "viewer", "pull": True, "push": False, "delete": False,
                                   "manage": False, "destroy": False, "change_visibility": False,
                                   "visibility": False, "webhooks": False}
    owner = client_as("owner").get(f"/api/v1/namespaces/{namespace.pk}").json()
    assert owner["permissions"]["push"] and owner["permissions"]["role"] == "owner"
    assert owner["updatable"] and owner["destroyable"]
    admin = client_as("admin").get(f"/api/v1/namespaces/{namespace.pk}").json()
    assert admin["permissions"]["role"] == "admin"


def test_permissions_follow_delete_options(client_as, namespace, options):
    options.set("delete.enabled", True)
    assert client_as("owner").get(f"/api/v1/namespaces/{namespace.pk}").json()["permissions"]["delete"] is True
    assert client_as("contributor").get(f"/api/v1/namespaces/{namespace.pk}").json()["permissions"]["delete"] is False


class TestCreate:
    @pytest.mark.parametrize("role, status", [
        ("admin", 201), ("owner", 201), ("contributor", 201), ("viewer", 403), ("bot", 403), ("outsider", 400),
        ("anonymous", 401),
    ])
    def test_who_may(self, client_as, team, role, status):
        response = client_as(role).post("/api/v1/namespaces", {"name": "qa-new", "team": "qa"}, format="json")
        assert response.status_code == status, response.json()

    def test_created(self, client_as, team):
        response = client_as("owner").post("/api/v1/namespaces",
                                           {"name": "qa-new", "team": "qa", "description": "New *one*"},
                                           format="json")
        body = response.json()
        assert body["name"] == "qa-new" and body["visibility"] == "private"
        assert "<em>one</em>" in body["description_md"]

    def test_outsider_cannot_learn_the_team_exists(self, client_as, team):
        response = client_as("outsider").post("/api/v1/namespaces", {"name": "x", "team": "qa"}, format="json")
        assert response.json() == {"message": {"team": ["No team of yours has this name."]}}

    def test_taken_name_is_422(self, client_as, namespace):
        response = client_as("owner").post("/api/v1/namespaces", {"name": "qa", "team": "qa"}, format="json")
        assert response.status_code == 422
        assert "name" in response.json()["message"]

    def test_invalid_name_is_422(self, client_as, team):
        response = client_as("owner").post("/api/v1/namespaces", {"name": "Bad Name", "team": "qa"}, format="json")
        assert response.status_code == 422

    def test_disabled_by_option(self, client_as, team, options):
        options.set("user_permission.create_namespace.enabled", False)
        response = client_as("owner").post("/api/v1/namespaces", {"name": "x", "team": "qa"}, format="json")
        assert response.status_code == 403

    def test_public_at_creation_needs_the_visibility_right(self, client_as, team, options):
        body = {"name": "qa-pub", "team": "qa", "visibility": "public"}
        assert client_as("contributor").post("/api/v1/namespaces", body, format="json").status_code == 403
        response = client_as("owner").post("/api/v1/namespaces", body, format="json")
        assert response.status_code == 201 and response.json()["visibility"] == "public"


class TestUpdate:
    def put(self, client, namespace, **fields):
        return client.put(f"/api/v1/namespaces/{namespace.pk}", {"namespace": fields}, format="json")

    @pytest.mark.parametrize("role, status", [
        ("admin", 200), ("owner", 200), ("contributor", 403), ("viewer", 403), ("bot", 403), ("outsider", 404),
    ])
    def test_description(self, client_as, namespace, role, status):
        assert self.put(client_as(role), namespace, description="new").status_code == status

    @pytest.mark.parametrize("role, status", [("owner", 200), ("contributor", 403), ("viewer", 403)])
    def test_visibility(self, client_as, namespace, role, status):
        response = self.put(client_as(role), namespace, visibility="public")
        assert response.status_code == status
        if status == 200:
            assert response.json()["visibility"] == "public"

    def test_visibility_option(self, client_as, namespace, options):
        options.set("user_permission.change_visibility.enabled", False)
        assert self.put(client_as("owner"), namespace, visibility="public").status_code == 403
        assert self.put(client_as("admin"), namespace, visibility="public").status_code == 200

    def test_same_visibility_needs_no_right(self, client_as, namespace, options):
        options.set("user_permission.change_visibility.enabled", False)
        assert self.put(client_as("owner"), namespace, visibility="private", description="d").status_code == 200

    def test_bad_visibility_is_400(self, client_as, namespace):
        response = self.put(client_as("owner"), namespace, visibility="secret")
        assert response.status_code == 400
        assert "visibility" in response.json()["message"]["namespace"]

    def test_rename(self, client_as, namespace, fake_registry):
        response = self.put(client_as("owner"), namespace, name="qa2")
        assert response.json()["name"] == "qa2"

    def test_rename_with_repositories_is_422(self, client_as, namespace, repository):
        response = self.put(client_as("owner"), namespace, name="qa2")
        assert response.status_code == 422

    @pytest.mark.parametrize("role", ["owner", "admin"])
    def test_renaming_a_personal_namespace_is_refused_by_the_policy_403(self, client_as, owner, role):
        personal = Namespace.objects.get(name="olivia")
        response = self.put(client_as(role), personal, name="olivia2")
        assert response.status_code == 403
        personal.refresh_from_db()
        assert personal.name == "olivia"

    def test_personal_namespace_keeps_its_name_and_takes_a_description(self, client_as, owner):
        personal = Namespace.objects.get(name="olivia")
        response = self.put(client_as("owner"), personal, name="olivia", description="Mine.")
        assert response.status_code == 200
        assert response.json()["description"] == "Mine."

    def test_rename_refused_by_the_policy_is_403_not_422(self, client_as, namespace, repository, contributor):
        # Refused by the policy (a contributor does not manage the namespace) before any reason to refuse it.
        assert self.put(client_as("contributor"), namespace, name="qa2").status_code == 403

    def test_move_to_another_team(self, client_as, namespace, owner):
        from teams.services import team_create

        team_create(name="other", owner=owner)
        response = self.put(client_as("owner"), namespace, team="other")
        assert response.status_code == 200
        assert response.json()["team"]["name"] == "other"

    def test_move_to_a_team_where_one_only_views_is_403(self, client_as, namespace, owner, viewer):
        from teams.services import team_create, team_member_add

        other = team_create(name="other", owner=viewer)
        team_member_add(team=other, user=owner, role="viewer", by=viewer)
        assert self.put(client_as("owner"), namespace, team="other").status_code == 403

    def test_move_to_unknown_team_is_400(self, client_as, namespace):
        response = self.put(client_as("owner"), namespace, team="nope")
        assert response.status_code == 400

    def test_a_namespace_an_admins_push_created_moves_to_a_team(self, client_as, admin, team, registry):
        from namespaces.services import namespace_for_push

        pushed = namespace_for_push(registry=registry, name="pushed-here", user=admin)
        response = self.put(client_as("admin"), pushed, team="qa")
        assert response.status_code == 200
        assert response.json()["team"]["name"] == "qa"

    def test_personal_namespace_cannot_move(self, client_as, owner, team, registry):
        personal = Namespace.objects.get(registry=registry, name="olivia")
        response = self.put(client_as("owner"), personal, team="qa")
        assert response.status_code == 422


class TestDelete:
    @pytest.mark.parametrize("role, status", [
        ("contributor", 403), ("viewer", 403), ("bot", 403), ("outsider", 404), ("anonymous", 401), ("owner", 204),
    ])
    def test_who_may(self, client_as, namespace, role, status):
        assert client_as(role).delete(f"/api/v1/namespaces/{namespace.pk}").status_code == status

    def test_deleted_when_no_image_is_left(self, client_as, namespace, fake_registry):
        assert client_as("admin").delete(f"/api/v1/namespaces/{namespace.pk}").status_code == 204
        assert not Namespace.objects.filter(pk=namespace.pk).exists()

    def test_retired_while_images_remain(self, client_as, namespace, repository, fake_registry):
        assert client_as("owner").delete(f"/api/v1/namespaces/{namespace.pk}").status_code == 204
        retired = Namespace.objects.get(pk=namespace.pk)
        assert retired.is_retired and retired.former_owner == "team qa" and retired.team.hidden
        assert client_as("owner").get(f"/api/v1/namespaces/{namespace.pk}").status_code == 404
        assert client_as("admin").get(f"/api/v1/namespaces/{namespace.pk}").status_code == 200

    def test_personal_namespace_is_403(self, client_as, owner, registry):
        personal = Namespace.objects.get(registry=registry, name="olivia")
        assert client_as("owner").delete(f"/api/v1/namespaces/{personal.pk}").status_code == 403


class TestValidate:
    def test_free_name(self, client_as, namespace):
        response = client_as("viewer").get("/api/v1/namespaces/validate", {"name": "fresh"})
        assert response.json() == {"messages": {}, "valid": True}

    def test_taken_name(self, client_as, namespace):
        body = client_as("viewer").get("/api/v1/namespaces/validate", {"name": "qa"}).json()
        assert body["valid"] is False and "name" in body["messages"]

    def test_invalid_name(self, client_as, namespace):
        body = client_as("viewer").get("/api/v1/namespaces/validate", {"name": "UPPER"}).json()
        assert body["valid"] is False

    def test_name_is_required(self, client_as, namespace):
        assert client_as("viewer").get("/api/v1/namespaces/validate").status_code == 400

    def test_without_a_registry(self, db):
        from accounts.services import user_create
        from tests.api.conftest import client_for

        lonely = user_create(username="lonely", email="l@example.org", password="x" * 12, check_password=False)
        body = client_for(lonely).get("/api/v1/namespaces/validate", {"name": "x"}).json()
        assert body == {"messages": {"registry": ["Add a registry first."]}, "valid": False}


class TestRepositories:
    def test_lists_repositories(self, client_as, namespace, repository):
        rows = client_as("viewer").get(f"/api/v1/namespaces/{namespace.pk}/repositories").json()
        assert [row["full_name"] for row in rows] == ["qa/app"]

    def test_outsider_is_404(self, client_as, namespace, repository):
        assert client_as("outsider").get(f"/api/v1/namespaces/{namespace.pk}/repositories").status_code == 404
