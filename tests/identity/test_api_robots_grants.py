"""/api/v1/robots and /api/v1/namespaces/{id}/grants: who may, what they answer, hostile input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from grants.models import RepositoryGrant
from tests.api.conftest import client_for


def test_a_namespace_owner_creates_a_robot_and_its_token(namespace, owner, team):
    api = client_for(owner)
    response = api.post("/api/v1/robots", {"name": "ci", "namespace_id": namespace.pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "robot$qa+ci" and body["namespace_id"] == namespace.pk and body["active"]
    created = api.post(f"/api/v1/users/{body['id']}/application_tokens",
                       {"application": "ci", "scopes": ["registry:push"]}, format="json")
    assert created.status_code == 201
    assert created.json()["plain_token"].startswith("pat_")
    assert [row["username"] for row in api.get("/api/v1/robots").json()] == ["robot$qa+ci"]


@pytest.mark.parametrize("role", ["contributor", "viewer", "outsider"])
def test_others_may_not_create_robots_in_the_namespace(namespace, role, request):
    api = client_for(request.getfixturevalue(role))
    response = api.post("/api/v1/robots", {"name": "ci", "namespace_id": namespace.pk}, format="json")
    assert response.status_code in (403, 404)
    assert not User.objects.filter(username="robot$qa+ci").exists()


def test_instance_robots_are_for_admins(admin, owner, registry):
    assert client_for(owner).post("/api/v1/robots", {"name": "mirror"}, format="json").status_code == 403
    response = client_for(admin).post("/api/v1/robots", {"name": "mirror"}, format="json")
    assert response.status_code == 201 and response.json()["username"] == "robot$mirror"


def test_a_robots_manager_disables_and_deletes_it(namespace, owner, outsider, team):
    api = client_for(owner)
    robot_id = api.post("/api/v1/robots", {"name": "ci", "namespace_id": namespace.pk}, format="json").json()["id"]
    assert client_for(outsider).get(f"/api/v1/robots/{robot_id}").status_code == 404
    assert api.put(f"/api/v1/robots/{robot_id}", {"enabled": False}, format="json").json()["enabled"] is False
    assert client_for(outsider).delete(f"/api/v1/robots/{robot_id}").status_code == 404
    assert api.delete(f"/api/v1/robots/{robot_id}").status_code == 204
    assert not User.objects.filter(pk=robot_id).exists()


def test_grants_round_trip(namespace, owner, outsider, team):
    api = client_for(owner)
    url = f"/api/v1/namespaces/{namespace.pk}/grants"
    response = api.post(url, {"pattern": "app/*", "permission": "pull", "user": outsider.username}, format="json")
    assert response.status_code == 201, response.content
    grant = response.json()
    assert grant["grantee"] == "oscar" and grant["grantee_kind"] == "user"
    changed = api.put(f"{url}/{grant['id']}", {"permission": "push"}, format="json")
    assert changed.status_code == 200 and changed.json()["permission"] == "push"
    assert [row["pattern"] for row in api.get(url).json()] == ["app/*"]
    assert api.delete(f"{url}/{grant['id']}").status_code == 204
    assert not RepositoryGrant.objects.exists()


@pytest.mark.parametrize("role", ["contributor", "viewer"])
def test_members_below_owner_may_not_grant(namespace, role, outsider, request):
    api = client_for(request.getfixturevalue(role))
    response = api.post(f"/api/v1/namespaces/{namespace.pk}/grants",
                        {"pattern": "app", "permission": "admin", "user": outsider.username}, format="json")
    assert response.status_code == 403


def test_an_outsider_does_not_see_the_grants_of_a_private_namespace(namespace, outsider):
    assert client_for(outsider).get(f"/api/v1/namespaces/{namespace.pk}/grants").status_code == 404


def test_a_grantee_lists_only_the_granted_repositories(namespace, owner, outsider, team):
    from namespaces.models import Repository

    for name in ("app", "secret"):
        Repository.objects.create(namespace=namespace, name=name)
    client_for(owner).post(f"/api/v1/namespaces/{namespace.pk}/grants",
                           {"pattern": "app", "permission": "pull", "user": outsider.username}, format="json")
    api = client_for(outsider)
    assert [row["name"] for row in api.get("/api/v1/repositories").json()] == ["app"]
    assert [row["name"] for row in api.get(f"/api/v1/namespaces/{namespace.pk}/repositories").json()] == ["app"]
    secret = Repository.objects.get(name="secret")
    assert api.get(f"/api/v1/repositories/{secret.pk}").status_code == 404


@pytest.fixture
def owner_api(owner, team):
    """One client for every example of a property test (a token per example would hit the per-user cap)."""
    return client_for(owner)


@given(pattern=st.text(max_size=300), permission=st.text(max_size=10), user=st.text(max_size=160))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_hostile_grant_bodies_get_clear_errors(namespace, owner_api, pattern, permission, user):
    response = owner_api.post(f"/api/v1/namespaces/{namespace.pk}/grants",
                        {"pattern": pattern, "permission": permission, "user": user}, format="json")
    assert response.status_code in (201, 400, 422), response.content
    RepositoryGrant.objects.all().delete()


@given(name=st.text(max_size=100), description=st.text(max_size=200))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_hostile_robot_bodies_get_clear_errors(namespace, owner_api, name, description):
    response = owner_api.post("/api/v1/robots", {"name": name, "description": description,
                                                         "namespace_id": namespace.pk}, format="json")
    assert response.status_code in (201, 400, 422), response.content
    User.objects.filter(username__startswith="robot$").delete()


def test_a_grantee_is_told_the_count_of_the_granted_repositories_only(namespace, owner, outsider, team):
    from grants.services import grant_create
    from namespaces.models import Repository

    for name in ("app", "secret", "other"):
        Repository.objects.create(namespace=namespace, name=name)
    grant_create(namespace=namespace, pattern="app", permission="pull", by=owner, user=outsider)
    shown = client_for(outsider).get(f"/api/v1/namespaces/{namespace.pk}").json()
    assert shown["repositories_count"] == 1
    assert client_for(owner).get(f"/api/v1/namespaces/{namespace.pk}").json()["repositories_count"] == 3
