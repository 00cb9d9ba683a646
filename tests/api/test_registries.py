"""/api/v1/registries: admins only; creation and changes check that the registry answers."""

from __future__ import annotations

import pytest

from registries.models import Registry

pytestmark = pytest.mark.django_db

NEW = {"registry": {"name": "second", "hostname": "registry2.test.lan:5000", "use_ssl": False}}


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("owner", 403), ("viewer", 403), ("outsider", 403), ("bot", 403), ("anonymous", 401),
])
def test_list_is_for_admins(client_as, role, status):
    assert client_as(role).get("/api/v1/registries").status_code == status


def test_list_fields(client_as, registry):
    rows = client_as("admin").get("/api/v1/registries").json()
    assert rows == [{
        "id": registry.pk, "name": "main", "hostname": "registry.test.lan:5000", "external_hostname": "",
        "use_ssl": False, "notification_secret_prefix": "", "created_at": rows[0]["created_at"],
        "updated_at": rows[0]["updated_at"],
    }]


def test_create_checks_reachability(client_as, reachable):
    response = client_as("admin").post("/api/v1/registries", NEW, format="json")
    assert response.status_code == 201
    assert response.json()["hostname"] == "registry2.test.lan:5000"
    assert Registry.objects.filter(name="second").exists()


def test_unreachable_registry_is_422_on_hostname(client_as, unreachable):
    response = client_as("admin").post("/api/v1/registries", NEW, format="json")
    assert response.status_code == 422
    assert "not reachable" in response.json()["message"]["hostname"][0]
    assert not Registry.objects.filter(name="second").exists()


def test_create_by_non_admin_is_403(client_as, reachable):
    assert client_as("owner").post("/api/v1/registries", NEW, format="json").status_code == 403


def test_create_needs_use_ssl(client_as, reachable):
    body = {"registry": {"name": "x", "hostname": "x.lan"}}
    response = client_as("admin").post("/api/v1/registries", body, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == {"registry": {"use_ssl": ["This field is required."]}}


def test_bad_hostname_is_422(client_as, reachable):
    body = {"registry": {**NEW["registry"], "hostname": "not a host"}}
    response = client_as("admin").post("/api/v1/registries", body, format="json")
    assert response.status_code == 422
    assert "hostname" in response.json()["message"]


def test_update(client_as, registry, reachable):
    response = client_as("admin").put(f"/api/v1/registries/{registry.pk}",
                                      {"registry": {"external_hostname": "registry.example.org"}}, format="json")
    assert response.status_code == 200
    assert response.json()["external_hostname"] == "registry.example.org"


def test_update_hostname_is_checked(client_as, registry, unreachable):
    response = client_as("admin").put(f"/api/v1/registries/{registry.pk}",
                                      {"registry": {"hostname": "elsewhere.lan"}}, format="json")
    assert response.status_code == 422
    registry.refresh_from_db()
    assert registry.hostname == "registry.test.lan:5000"


def test_update_unknown_is_404(client_as, registry):
    assert client_as("admin").put("/api/v1/registries/9999", {"registry": {}}, format="json").status_code == 404


def test_update_by_non_admin_is_403(client_as, registry):
    response = client_as("owner").put(f"/api/v1/registries/{registry.pk}", {"registry": {"name": "x"}},
                                      format="json")
    assert response.status_code == 403


class TestValidate:
    def test_valid(self, client_as, registry, reachable):
        response = client_as("admin").get("/api/v1/registries/validate",
                                          {"name": "second", "hostname": "r2.lan", "use_ssl": "true"})
        assert response.status_code == 200
        assert response.json() == {"messages": {}, "valid": True}

    def test_every_problem_is_named(self, client_as, registry, unreachable):
        response = client_as("admin").get("/api/v1/registries/validate",
                                          {"name": "main", "hostname": "registry.test.lan:5000", "use_ssl": "false",
                                           "external_hostname": "bad host"})
        body = response.json()
        assert body["valid"] is False
        assert set(body["messages"]) == {"name", "hostname", "external_hostname"}

    def test_unreachable(self, client_as, registry, unreachable):
        body = client_as("admin").get("/api/v1/registries/validate",
                                      {"name": "second", "hostname": "r2.lan", "use_ssl": "true"}).json()
        assert body["valid"] is False
        assert "not reachable" in body["messages"]["hostname"][0]

    def test_only_restricts_the_check(self, client_as, registry, unreachable):
        body = client_as("admin").get("/api/v1/registries/validate",
                                      {"name": "second", "hostname": "r2.lan", "use_ssl": "true",
                                       "only": ["name"]}).json()
        assert body == {"messages": {}, "valid": True}

    def test_only_in_rails_notation(self, client_as, registry, unreachable):
        body = client_as("admin").get("/api/v1/registries/validate?name=main&hostname=r2.lan&use_ssl=true"
                                      "&only[]=name").json()
        assert body["valid"] is False and set(body["messages"]) == {"name"}

    def test_missing_parameters_are_400(self, client_as, registry):
        response = client_as("admin").get("/api/v1/registries/validate", {"name": "x"})
        assert response.status_code == 400
        assert set(response.json()["message"]) == {"hostname", "use_ssl"}

    def test_for_admins_only(self, client_as, registry):
        response = client_as("owner").get("/api/v1/registries/validate",
                                          {"name": "x", "hostname": "r.lan", "use_ssl": "true"})
        assert response.status_code == 403


# --- notification secrets ----------------------------------------------------------------------------


@pytest.mark.parametrize("role, status", [
    ("admin", 201), ("owner", 403), ("viewer", 403), ("outsider", 403), ("bot", 403), ("anonymous", 401),
])
def test_only_admins_make_notification_secrets(client_as, registry, role, status):
    response = client_as(role).post(f"/api/v1/registries/{registry.pk}/notification_secret", {}, format="json")
    assert response.status_code == status
    assert Registry.objects.get(pk=registry.pk).has_notification_secret == (status == 201)


def test_a_new_notification_secret_is_shown_once(client_as, registry):
    client = client_as("admin")
    first = client.post(f"/api/v1/registries/{registry.pk}/notification_secret").json()
    assert first["secret"].startswith("pns_") and first["prefix"] == first["secret"][:11]
    assert first["previous_valid_until"] is None
    assert Registry.for_notification_secret(first["secret"]) == registry
    listed = client.get("/api/v1/registries").json()[0]
    assert listed["notification_secret_prefix"] == first["prefix"] and first["secret"] not in str(listed)
    second = client.post(f"/api/v1/registries/{registry.pk}/notification_secret").json()
    assert second["previous_valid_until"] and Registry.for_notification_secret(first["secret"]) == registry
    third = client.post(f"/api/v1/registries/{registry.pk}/notification_secret", {"revoke_previous": True},
                        format="json").json()
    assert third["previous_valid_until"] is None
    assert Registry.for_notification_secret(second["secret"]) is None


def test_notification_secret_of_an_unknown_registry_is_404(client_as, registry):
    response = client_as("admin").post("/api/v1/registries/999999/notification_secret")
    assert response.status_code == 404


def test_notification_secret_input_is_checked(client_as, registry):
    response = client_as("admin").post(f"/api/v1/registries/{registry.pk}/notification_secret",
                                       {"revoke_previous": "maybe"}, format="json")
    assert response.status_code == 400 and "revoke_previous" in response.json()["message"]
    assert not Registry.objects.get(pk=registry.pk).has_notification_secret


# --- delete ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, status", [
    ("admin", 204), ("owner", 403), ("viewer", 403), ("outsider", 403), ("bot", 403), ("anonymous", 401),
])
def test_only_admins_delete_registries(client_as, registry, role, status):
    assert client_as(role).delete(f"/api/v1/registries/{registry.pk}").status_code == status
    assert Registry.objects.filter(pk=registry.pk).exists() == (status != 204)


def test_empty_personal_and_global_namespaces_go_with_the_registry(client_as, registry, owner):
    from namespaces.models import Namespace
    from teams.models import Team

    assert Namespace.objects.filter(registry=registry).count() > 1
    assert client_as("admin").delete(f"/api/v1/registries/{registry.pk}").status_code == 204
    assert not Namespace.objects.filter(registry_id=registry.pk).exists()
    assert not Team.objects.filter(name=f"global/{registry.pk}").exists()
    assert Team.objects.filter(personal_of=owner).exists()


def test_delete_is_refused_while_a_team_namespace_depends_on_it(client_as, registry, owner, team):
    from namespaces.services import namespace_create

    namespace_create(name="qa", team=team, by=owner, registry=registry)
    response = client_as("admin").delete(f"/api/v1/registries/{registry.pk}")
    assert response.status_code == 422
    message = str(response.json())
    assert "qa" in message and "Delete those namespaces first" in message
    assert Registry.objects.filter(pk=registry.pk).exists()


def test_delete_is_refused_while_a_personal_namespace_holds_repositories(client_as, registry, owner):
    from namespaces.models import Namespace, Repository

    Repository.objects.create(namespace=Namespace.objects.get(registry=registry, name="olivia"), name="app")
    response = client_as("admin").delete(f"/api/v1/registries/{registry.pk}")
    assert response.status_code == 422 and "olivia" in str(response.json())


def test_delete_of_an_unknown_registry_is_404(client_as, registry):
    assert client_as("admin").delete("/api/v1/registries/999999").status_code == 404
