"""/api/v1/tags: the list is for admins (as in Portus); deleting a tag deletes its manifest in the registry."""

from __future__ import annotations

import pytest

from namespaces.models import Tag

from .conftest import DIGEST_A

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("owner", 403), ("viewer", 403), ("outsider", 403), ("bot", 403), ("anonymous", 401),
])
def test_list_is_for_admins(client_as, repository, role, status):
    response = client_as(role).get("/api/v1/tags")
    assert response.status_code == status
    if status == 200:
        assert len(response.json()) == 3


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("owner", 200), ("contributor", 200), ("viewer", 200), ("bot", 200), ("outsider", 404),
    ("anonymous", 401),
])
def test_show(client_as, repository, role, status):
    tag = Tag.objects.get(repository=repository, name="latest")
    assert client_as(role).get(f"/api/v1/tags/{tag.pk}").status_code == status


def test_unknown_tag_is_404(client_as, repository):
    assert client_as("admin").get("/api/v1/tags/999999").status_code == 404


class TestDelete:
    def tag(self, repository, name="latest") -> Tag:
        return Tag.objects.get(repository=repository, name=name)

    def test_405_while_delete_is_off(self, client_as, repository):
        response = client_as("admin").delete(f"/api/v1/tags/{self.tag(repository).pk}")
        assert response.status_code == 405
        assert response.json() == {"message": "This instance has disabled this endpoint."}

    def test_every_tag_on_the_digest_goes(self, client_as, repository, options, registry_deletes):
        options.set("delete.enabled", True)
        response = client_as("owner").delete(f"/api/v1/tags/{self.tag(repository).pk}")
        assert response.status_code == 204
        assert registry_deletes == [("qa/app", DIGEST_A)]
        assert list(Tag.objects.filter(repository=repository).values_list("name", flat=True)) == ["v0"]
        repository.refresh_from_db()
        assert repository.tags_count == 1

    @pytest.mark.parametrize("role, status", [
        ("admin", 204), ("owner", 204), ("contributor", 403), ("viewer", 403), ("bot", 403), ("outsider", 404),
        ("anonymous", 401),
    ])
    def test_who_may(self, client_as, repository, options, registry_deletes, role, status):
        options.set("delete.enabled", True)
        assert client_as(role).delete(f"/api/v1/tags/{self.tag(repository).pk}").status_code == status

    def test_contributors_with_the_option(self, client_as, repository, options, registry_deletes):
        options.set("delete.enabled", True)
        options.set("delete.contributors", True)
        assert client_as("contributor").delete(f"/api/v1/tags/{self.tag(repository).pk}").status_code == 204

    def test_registry_refusal_is_422_and_keeps_the_tag(self, client_as, repository, options, registry_refuses):
        options.set("delete.enabled", True)
        response = client_as("owner").delete(f"/api/v1/tags/{self.tag(repository).pk}")
        assert response.status_code == 422
        assert "storage.delete.enabled" in response.json()["message"]
        assert Tag.objects.filter(repository=repository).count() == 3


class TestVulnerabilities:
    @pytest.mark.parametrize("role, status", [("admin", 405), ("owner", 403), ("anonymous", 401)])
    def test_rescan_all(self, client_as, team, role, status):
        assert client_as(role).post("/api/v1/vulnerabilities").status_code == status

    def test_rescan_one(self, client_as, repository):
        tag = Tag.objects.get(repository=repository, name="latest")
        response = client_as("admin").post(f"/api/v1/vulnerabilities/{tag.pk}")
        assert response.status_code == 405
        assert "scanner" in response.json()["message"]
        assert client_as("admin").post("/api/v1/vulnerabilities/999999").status_code == 404
        assert client_as("owner").post(f"/api/v1/vulnerabilities/{tag.pk}").status_code == 403
