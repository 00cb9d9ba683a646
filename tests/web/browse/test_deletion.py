"""Deleting tags and repositories: confirmation pages, who may, what goes (every tag on the digest)."""

from __future__ import annotations

import pytest

from activities.models import Activity
from namespaces.models import Repository, Tag

from .conftest import DIGEST_A, DIGEST_B, DIGEST_M

pytestmark = pytest.mark.django_db


@pytest.fixture
def deletes_on(options):
    options.set("delete.enabled", True)


def test_confirmation_lists_every_tag_that_shares_the_digest(client_of, owner, repository, deletes_on,
                                                             registry_deletes):
    tag = repository.tags.get(name="1.0")
    response = client_of(owner).get(f"/tags/{tag.pk}/delete")
    assert response.status_code == 200
    assert [t.name for t in response.context["sharing"]] == ["1.0", "latest"]
    html = response.content.decode()
    assert "2 tags point at this digest" in html
    assert "<strong>latest</strong>" in html and "<strong>1.0</strong>" in html
    assert "0.9" not in html.split('id="tags-sharing-digest"')[1].split("</ul>")[0]
    assert registry_deletes.deleted == [] and repository.tags.count() == 4  # GET changes nothing


def test_deleting_a_tag_deletes_its_digest_and_every_tag_on_it(client_of, owner, repository, deletes_on,
                                                               registry_deletes):
    tag = repository.tags.get(name="latest")
    response = client_of(owner).post(f"/tags/{tag.pk}/delete")
    assert response.status_code == 302 and response["Location"] == f"/repositories/{repository.pk}"
    assert registry_deletes.deleted == [("qa/app", DIGEST_A)]
    assert sorted(repository.tags.values_list("name", flat=True)) == ["0.9", "multi"]
    repository.refresh_from_db()
    assert repository.tags_count == 2
    assert Activity.objects.filter(key="tag.delete", owner=owner).count() == 2


def test_a_tag_alone_on_its_digest_goes_alone(client_of, owner, repository, deletes_on, registry_deletes):
    tag = repository.tags.get(name="0.9")
    assert "No other tag points at this digest" in client_of(owner).get(f"/tags/{tag.pk}/delete").content.decode()
    client_of(owner).post(f"/tags/{tag.pk}/delete")
    assert registry_deletes.deleted == [("qa/app", DIGEST_B)]
    assert repository.tags.count() == 3


def test_nothing_is_deleted_when_delete_is_disabled(client_of, admin, repository, registry_deletes):
    tag = repository.tags.get(name="latest")
    assert client_of(admin).post(f"/tags/{tag.pk}/delete").status_code == 403
    assert registry_deletes.deleted == [] and repository.tags.count() == 4


def test_contributor_may_not_delete_unless_contributors_may(client_of, contributor, repository, deletes_on,
                                                            registry_deletes, options):
    tag = repository.tags.get(name="latest")
    assert client_of(contributor).post(f"/tags/{tag.pk}/delete").status_code == 403
    assert registry_deletes.deleted == []
    options.set("delete.contributors", True)
    assert client_of(contributor).post(f"/tags/{tag.pk}/delete").status_code == 302
    assert registry_deletes.deleted == [("qa/app", DIGEST_A)]


def test_viewer_gets_403_and_outsider_404(client_of, viewer, outsider, repository, deletes_on, registry_deletes):
    tag = repository.tags.get(name="latest")
    assert client_of(viewer).get(f"/tags/{tag.pk}/delete").status_code == 403
    assert client_of(outsider).get(f"/tags/{tag.pk}/delete").status_code == 404
    assert client_of(outsider).post(f"/tags/{tag.pk}/delete").status_code == 404
    assert registry_deletes.deleted == [] and repository.tags.count() == 4


def test_when_the_registry_refuses_nothing_changes_here(client_of, owner, repository, deletes_on,
                                                        registry_deletes):
    from registries.client import DeleteNotAllowed

    registry_deletes.refuse[DIGEST_A] = DeleteNotAllowed("the registry does not allow deletes")
    tag = repository.tags.get(name="latest")
    response = client_of(owner).post(f"/tags/{tag.pk}/delete", follow=True)
    assert "does not allow deletes" in response.content.decode()
    assert repository.tags.count() == 4


def test_a_manifest_the_registry_no_longer_has_is_forgotten(client_of, owner, repository, deletes_on,
                                                            registry_deletes):
    from registries.client import ManifestUnknown

    registry_deletes.refuse[DIGEST_A] = ManifestUnknown("gone")
    tag = repository.tags.get(name="latest")
    client_of(owner).post(f"/tags/{tag.pk}/delete")
    assert sorted(repository.tags.values_list("name", flat=True)) == ["0.9", "multi"]


def test_repository_delete_confirms_then_deletes_every_digest(client_of, owner, repository, deletes_on,
                                                              registry_deletes):
    client = client_of(owner)
    confirm = client.get(f"/repositories/{repository.pk}/delete").content.decode()
    assert "3 digests" in confirm and "4 tags" in confirm
    assert registry_deletes.deleted == []

    response = client.post(f"/repositories/{repository.pk}/delete")
    assert response.status_code == 302 and response["Location"] == f"/namespaces/{repository.namespace_id}"
    assert sorted(digest for _, digest in registry_deletes.deleted) == sorted([DIGEST_A, DIGEST_B, DIGEST_M])
    assert not Repository.objects.filter(pk=repository.pk).exists()
    assert Activity.objects.filter(key="repository.delete", owner=owner).exists()


def test_repository_delete_stopped_by_the_registry_keeps_what_it_did_not_delete(
        client_of, owner, repository, deletes_on, registry_deletes):
    from registries.client import RegistryUnavailable

    registry_deletes.refuse[DIGEST_B] = RegistryUnavailable("unreachable")
    response = client_of(owner).post(f"/repositories/{repository.pk}/delete", follow=True)
    assert "did not delete every image" in response.content.decode()
    assert Repository.objects.filter(pk=repository.pk).exists()
    assert DIGEST_B in Tag.objects.filter(repository=repository).values_list("digest", flat=True)
    for deleted in {digest for _, digest in registry_deletes.deleted}:
        assert not Tag.objects.filter(repository=repository, digest=deleted).exists()


def test_viewer_may_not_delete_a_repository(client_of, viewer, repository, deletes_on, registry_deletes):
    assert client_of(viewer).post(f"/repositories/{repository.pk}/delete").status_code == 403
    assert Repository.objects.filter(pk=repository.pk).exists() and registry_deletes.deleted == []

