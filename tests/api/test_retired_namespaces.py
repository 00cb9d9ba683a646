"""Retired namespaces through the API: DELETE retires (204 as before), admins list, release and purge them."""

from __future__ import annotations

import pytest

from accounts.models import User
from namespaces.models import Namespace, Repository, Tag
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

DIGEST = "sha256:" + "8" * 64


@pytest.fixture
def retired(client_as, namespace, fake_registry):
    repository = Repository.objects.create(namespace=namespace, name="app")
    Tag.objects.create(repository=repository, name="v1", digest=DIGEST)
    fake_registry.push("qa/app", "v1", DIGEST)
    assert client_as("owner").delete(f"/api/v1/namespaces/{namespace.pk}").status_code == 204
    return Namespace.objects.get(pk=namespace.pk)


def test_admins_list_retired_namespaces(client_as, retired):
    body = client_as("admin").get("/api/v1/namespaces/retired").json()
    assert [(n["id"], n["name"], n["former_owner"], n["retired_by"]) for n in body] == [
        (retired.pk, "qa", "team qa", "olivia")]
    assert body[0]["orphan"] is True and body[0]["retired_at"]
    assert client_as("owner").get("/api/v1/namespaces/retired").status_code == 403


def test_a_retired_namespace_is_gone_for_everyone_but_admins(client_as, retired):
    for role in ("owner", "contributor", "viewer", "outsider"):
        assert client_as(role).get(f"/api/v1/namespaces/{retired.pk}").status_code == 404, role
    names = [n["name"] for n in client_as("owner").get("/api/v1/namespaces").json()]
    assert "qa" not in names
    shown = client_as("admin").get(f"/api/v1/namespaces/{retired.pk}").json()
    assert shown["permissions"]["push"] is False and shown["destroyable"] is False


def test_the_name_is_reserved(client_as, retired):
    response = client_as("owner").post("/api/v1/namespaces", {"name": "qa", "team": "qa"}, format="json")
    assert response.status_code == 422 and "reserved by a former account" in str(response.json()["message"])
    check = client_as("owner").get("/api/v1/namespaces/validate", {"name": "qa"}).json()
    assert check["valid"] is False and "reserved by a former account" in check["messages"]["name"][0]


def test_release(client_as, retired, fake_registry):
    response = client_as("admin").post(f"/api/v1/namespaces/{retired.pk}/release")
    assert response.status_code == 422 and "purge them first" in str(response.json()["message"])
    fake_registry.repositories["qa/app"].clear()
    assert client_as("admin").post(f"/api/v1/namespaces/{retired.pk}/release").status_code == 204
    assert not Namespace.objects.filter(pk=retired.pk).exists()
    assert client_as("owner").post("/api/v1/namespaces", {"name": "qa", "team": "qa"}, format="json").status_code == 201


def test_purge(client_as, retired, options, fake_registry):
    assert client_as("admin").post(f"/api/v1/namespaces/{retired.pk}/purge").status_code == 405
    options.set("delete.enabled", True)
    response = client_as("admin").post(f"/api/v1/namespaces/{retired.pk}/purge")
    assert response.status_code == 200 and response.json() == {"deleted": 1, "remaining": 0, "released": True}
    assert fake_registry.deleted == [("qa/app", DIGEST)]


@pytest.mark.parametrize("action", ["release", "purge"])
def test_who_may_release_and_purge(client_as, retired, options, action):
    options.set("delete.enabled", True)
    for role in ("owner", "viewer", "outsider"):
        assert client_as(role).post(f"/api/v1/namespaces/{retired.pk}/{action}").status_code == 404, role
    assert client_as("anonymous").post(f"/api/v1/namespaces/{retired.pk}/{action}").status_code == 401


def test_a_current_namespace_is_not_released(client_as, namespace):
    response = client_as("admin").post(f"/api/v1/namespaces/{namespace.pk}/release")
    assert response.status_code == 422 and Namespace.objects.filter(pk=namespace.pk).exists()


def test_deleting_a_user_through_the_api_keeps_the_images_and_the_name(client_as, outsider, registry,
                                                                       fake_registry):
    personal = Namespace.objects.get(registry=registry, name="oscar")
    Tag.objects.create(repository=Repository.objects.create(namespace=personal, name="secret"), name="v1",
                       digest=DIGEST)
    fake_registry.push("oscar/secret", "v1", DIGEST)
    assert client_as("admin").delete(f"/api/v1/users/{outsider.pk}").status_code == 204
    response = client_as("admin").post("/api/v1/users", {"user": {
        "username": "oscar", "email": "new-oscar@example.org", "password": PASSWORD}}, format="json")
    assert response.status_code == 422 and "reserved by a former account" in str(response.json()["message"])
    assert not User.objects.filter(username="oscar").exists()
