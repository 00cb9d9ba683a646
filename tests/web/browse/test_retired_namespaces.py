"""Retired namespaces in the web UI: shown to admins with a badge, released or purged behind a confirmation;
deleting a user asks what to do with the images."""

from __future__ import annotations

import pytest

from namespaces.models import Namespace, Repository, Tag
from namespaces.services import namespace_delete

pytestmark = pytest.mark.django_db

DIGEST = "sha256:" + "7" * 64


@pytest.fixture
def retired(namespace, owner, fake_registry):
    repository = Repository.objects.create(namespace=namespace, name="app")
    Tag.objects.create(repository=repository, name="v1", digest=DIGEST)
    fake_registry.push("qa/app", "v1", DIGEST)
    namespace_delete(namespace=namespace, by=owner)
    return Namespace.objects.get(pk=namespace.pk)


def test_deleting_a_namespace_with_images_says_its_name_stays_reserved(client_of, owner, namespace, fake_registry):
    fake_registry.push("qa/app", "v1", DIGEST)
    response = client_of(owner).post(f"/namespaces/{namespace.pk}/delete", follow=True)
    assert "the name stays reserved until an admin releases it" in response.content.decode()
    assert Namespace.objects.get(pk=namespace.pk).is_retired


def test_admins_see_retired_namespaces_with_a_badge_and_their_actions(client_of, admin, retired, options):
    options.set("delete.enabled", True)
    listing = client_of(admin).get("/namespaces").content.decode()
    assert 'id="retired-heading"' in listing and "Retired</span>" in listing and "formerly team qa" in listing
    page = client_of(admin).get(f"/namespaces/{retired.pk}").content.decode()
    assert f'href="/namespaces/{retired.pk}/release"' in page and f'href="/namespaces/{retired.pk}/purge"' in page
    assert f'href="/namespaces/{retired.pk}/delete"' not in page and f'href="/namespaces/{retired.pk}/edit"' not in page


@pytest.mark.parametrize("role", ["owner", "viewer", "outsider"])
def test_nobody_else_sees_a_retired_namespace(client_of, request, retired, role):
    client = client_of(request.getfixturevalue(role))
    assert client.get(f"/namespaces/{retired.pk}").status_code == 404
    assert client.post(f"/namespaces/{retired.pk}/release").status_code == 404
    assert client.post(f"/namespaces/{retired.pk}/purge").status_code == 404
    assert 'id="retired-heading"' not in client.get("/namespaces").content.decode()


def test_a_current_namespace_is_neither_released_nor_purged(client_of, admin, namespace, options):
    options.set("delete.enabled", True)
    assert client_of(admin).post(f"/namespaces/{namespace.pk}/release").status_code == 403
    assert client_of(admin).post(f"/namespaces/{namespace.pk}/purge").status_code == 403


def test_release_asks_first_and_is_refused_while_images_remain(client_of, admin, retired, fake_registry):
    client = client_of(admin)
    assert "Release the name qa?" in client.get(f"/namespaces/{retired.pk}/release").content.decode()
    response = client.post(f"/namespaces/{retired.pk}/release", follow=True)
    assert "still holds images under qa" in response.content.decode()
    assert Namespace.objects.filter(pk=retired.pk).exists()
    fake_registry.repositories["qa/app"].clear()
    response = client.post(f"/namespaces/{retired.pk}/release")
    assert response["Location"] == "/namespaces" and not Namespace.objects.filter(pk=retired.pk).exists()


def test_purge_asks_first_then_deletes_the_images(client_of, admin, retired, options, fake_registry):
    options.set("delete.enabled", True)
    client = client_of(admin)
    assert client.get(f"/namespaces/{retired.pk}/purge").status_code == 200 and fake_registry.deleted == []
    response = client.post(f"/namespaces/{retired.pk}/purge", follow=True)
    assert "the name is free again" in response.content.decode()
    assert fake_registry.deleted == [("qa/app", DIGEST)] and not Namespace.objects.filter(pk=retired.pk).exists()


def test_purge_needs_deletes_enabled(client_of, admin, retired):
    assert client_of(admin).post(f"/namespaces/{retired.pk}/purge").status_code == 403


# --- deleting a user --------------------------------------------------------------------------------------------


@pytest.fixture
def oscar_with_an_image(outsider, registry, fake_registry):
    personal = Namespace.objects.get(registry=registry, name="oscar")
    repository = Repository.objects.create(namespace=personal, name="secret")
    Tag.objects.create(repository=repository, name="v1", digest=DIGEST)
    fake_registry.push("oscar/secret", "v1", DIGEST)
    return outsider


def test_user_deletion_asks_what_to_do_with_the_images(client_of, admin, oscar_with_an_image, options):
    options.set("delete.enabled", True)
    page = client_of(admin).get(f"/admin/users/{oscar_with_an_image.pk}/delete").content.decode()
    assert 'value="keep" id="images-keep" checked' in page and 'value="purge" id="images-purge">' in page


def test_user_deletion_keeps_the_images_in_a_retired_namespace(client_of, admin, oscar_with_an_image,
                                                               fake_registry):
    response = client_of(admin).post(f"/admin/users/{oscar_with_an_image.pk}/delete", {"images": "keep"},
                                     follow=True)
    assert "the name oscar stays reserved" in response.content.decode()
    assert Namespace.objects.get(name="oscar").is_retired and fake_registry.deleted == []


def test_user_deletion_may_purge_the_images(client_of, admin, oscar_with_an_image, options, fake_registry):
    options.set("delete.enabled", True)
    response = client_of(admin).post(f"/admin/users/{oscar_with_an_image.pk}/delete", {"images": "purge"},
                                     follow=True)
    assert "its images in main are purged and the name is free" in response.content.decode()
    assert fake_registry.deleted == [("oscar/secret", DIGEST)]
    assert not Namespace.objects.filter(name="oscar").exists()


def test_user_deletion_refuses_an_unknown_choice(client_of, admin, oscar_with_an_image):
    client_of(admin).post(f"/admin/users/{oscar_with_an_image.pk}/delete", {"images": "shred"})
    assert Namespace.objects.get(name="oscar").team.personal_of_id == oscar_with_an_image.pk
