"""/api/v1/repositories: visible by the pull rule (outsiders 404), described by pushers, deleted with delete.*."""

from __future__ import annotations

import pytest

from namespaces.models import Repository, Tag

from .conftest import DIGEST_A, DIGEST_B

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role, visible", [
    ("admin", True), ("owner", True), ("contributor", True), ("viewer", True), ("bot", True), ("outsider", False),
])
def test_list_follows_the_pull_rule(client_as, repository, role, visible):
    names = [row["full_name"] for row in client_as(role).get("/api/v1/repositories").json()]
    assert ("qa/app" in names) is visible


def test_public_repository_is_listed_for_outsiders(client_as, team, public_repository):
    names = [row["full_name"] for row in client_as("outsider").get("/api/v1/repositories").json()]
    assert names == ["olivia/site"]


def test_entity(client_as, repository, registry):
    body = client_as("viewer").get("/api/v1/repositories").json()[0]
    assert set(body) == {"id", "name", "full_name", "created_at", "updated_at", "description", "description_md",
                         "namespace", "registry_hostname", "stars", "tags_count", "starred", "destroyable"}
    assert body["namespace"] == {"id": repository.namespace_id, "name": "qa"}
    assert body["registry_hostname"] == "registry.test.lan:5000"
    assert body["tags_count"] == 3 and body["stars"] == 0 and body["starred"] is False
    assert body["destroyable"] is False


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("owner", 200), ("viewer", 200), ("outsider", 404), ("anonymous", 401),
])
def test_show(client_as, repository, role, status):
    assert client_as(role).get(f"/api/v1/repositories/{repository.pk}").status_code == status


def test_show_groups_tags_by_digest_newest_first(client_as, repository):
    body = client_as("viewer").get(f"/api/v1/repositories/{repository.pk}").json()
    assert [[tag["name"] for tag in group] for group in body["tags"]] == [["v0"], ["latest", "v1"]]


class TestUpdate:
    @pytest.mark.parametrize("role, status", [
        ("admin", 200), ("owner", 200), ("contributor", 200), ("bot", 200), ("viewer", 403), ("outsider", 404),
    ])
    def test_who_may_describe(self, client_as, repository, role, status):
        response = client_as(role).put(f"/api/v1/repositories/{repository.pk}",
                                       {"repository": {"description": "# App"}}, format="json")
        assert response.status_code == status
        if status == 200:
            assert "<h1>App</h1>" in response.json()["description_md"]

    def test_push_policy_applies(self, client_as, repository, options):
        options.set("user_permission.push_images.policy", "admin-only")
        response = client_as("owner").put(f"/api/v1/repositories/{repository.pk}",
                                          {"repository": {"description": "x"}}, format="json")
        assert response.status_code == 403


class TestDelete:
    def test_405_while_delete_is_off(self, client_as, repository):
        response = client_as("admin").delete(f"/api/v1/repositories/{repository.pk}")
        assert response.status_code == 405
        assert Repository.objects.filter(pk=repository.pk).exists()

    @pytest.mark.parametrize("role, status", [
        ("owner", 204), ("contributor", 403), ("viewer", 403), ("bot", 403), ("outsider", 404),
        ("anonymous", 401),
    ])
    def test_who_may(self, client_as, repository, options, registry_deletes, role, status):
        options.set("delete.enabled", True)
        assert client_as(role).delete(f"/api/v1/repositories/{repository.pk}").status_code == status

    def test_contributors_with_the_option(self, client_as, repository, options, registry_deletes):
        options.set("delete.enabled", True)
        options.set("delete.contributors", True)
        assert client_as("contributor").delete(f"/api/v1/repositories/{repository.pk}").status_code == 204

    def test_every_manifest_is_deleted_in_the_registry(self, client_as, repository, options, registry_deletes):
        options.set("delete.enabled", True)
        client_as("owner").delete(f"/api/v1/repositories/{repository.pk}")
        assert sorted(registry_deletes) == [("qa/app", DIGEST_A), ("qa/app", DIGEST_B)]
        assert not Repository.objects.filter(pk=repository.pk).exists()

    def test_registry_refusal_is_422(self, client_as, repository, options, registry_refuses):
        options.set("delete.enabled", True)
        response = client_as("owner").delete(f"/api/v1/repositories/{repository.pk}")
        assert response.status_code == 422
        assert "registry" in response.json()["message"]
        assert Repository.objects.filter(pk=repository.pk).exists()


class TestTags:
    def test_list(self, client_as, repository, owner):
        rows = client_as("viewer").get(f"/api/v1/repositories/{repository.pk}/tags", {"sort_attr": "name"}).json()
        assert [row["name"] for row in rows] == ["latest", "v0", "v1"]
        tag = rows[0]
        assert set(tag) == {"id", "name", "author", "digest", "image_id", "created_at", "updated_at", "size",
                            "size_human", "scanned", "vulnerabilities",
                            # beyond Portus: what the registry reported about the image
                            "media_type", "platforms", "pushed_at", "pulled_at", "pull_count"}
        assert tag["author"] == {"id": owner.pk, "name": "olivia"}
        assert tag["size_human"] == "1.5 KiB"
        assert tag["scanned"] == 0 and tag["vulnerabilities"] is None

    def test_outsider_is_404(self, client_as, repository):
        assert client_as("outsider").get(f"/api/v1/repositories/{repository.pk}/tags").status_code == 404

    def test_grouped(self, client_as, repository):
        response = client_as("viewer").get(f"/api/v1/repositories/{repository.pk}/tags/grouped")
        assert [[tag["name"] for tag in group] for group in response.json()] == [["v0"], ["latest", "v1"]]
        assert response["X-Total"] == "2"

    def test_grouped_pages_count_digests(self, client_as, repository):
        response = client_as("viewer").get(f"/api/v1/repositories/{repository.pk}/tags/grouped",
                                           {"per_page": 1, "page": 2})
        assert [[tag["name"] for tag in group] for group in response.json()] == [["latest", "v1"]]

    def test_one_tag(self, client_as, repository):
        tag = Tag.objects.get(repository=repository, name="v1")
        response = client_as("viewer").get(f"/api/v1/repositories/{repository.pk}/tags/{tag.pk}")
        assert response.json()["name"] == "v1"

    def test_tag_of_another_repository_is_404(self, client_as, repository, namespace):
        from tests.api.conftest import make_repository

        other = make_repository(namespace, name="other")
        tag = Tag.objects.filter(repository=other).first()
        assert client_as("viewer").get(f"/api/v1/repositories/{repository.pk}/tags/{tag.pk}").status_code == 404
