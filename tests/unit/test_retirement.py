"""A deleted user's or namespace's name, claimed again, gets none of the images the registry still holds
(namespaces/retirement.py): retire, release, purge, and the token decision for whoever comes next."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import User
from accounts.services import user_create, user_delete
from namespaces import retirement
from namespaces.models import Namespace, Repository, Tag
from namespaces.services import namespace_create, namespace_delete
from realm.authorization import decide
from realm.scopes import parse_scopes
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

DIGEST = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64
CHILD = "sha256:" + "3" * 64


def pushed(namespace, name: str, tag: str, digest: str, fake_registry, **fields) -> Tag:
    """An image as the registry holds it and as this service recorded it."""
    repository, _ = Repository.objects.get_or_create(namespace=namespace, name=name)
    fake_registry.push(repository.full_name, tag, digest)
    tag = Tag.objects.create(repository=repository, name=tag, digest=digest, **fields)
    return tag


def access(user, registry, repository: str) -> set[str]:
    granted = decide(user=user, registry=registry, scopes=parse_scopes([f"repository:{repository}:pull,push"]))
    return {action for entry in granted for action in entry["actions"]}


def newcomer(name: str) -> User:
    return user_create(username=name, email=f"{name}-2@example.org", password=PASSWORD, check_password=False)


# --- the regression: a name claimed again -------------------------------------------------------------------


def test_a_newcomer_under_a_deleted_users_name_gets_none_of_their_images(admin, outsider, registry, fake_registry):
    personal = Namespace.objects.get(registry=registry, name="oscar")
    pushed(personal, "secret", "v1", DIGEST, fake_registry)
    user_delete(user=outsider, by=admin)
    with pytest.raises(ValidationError) as refused:
        newcomer("oscar")
    assert retirement.RESERVED_MESSAGE in refused.value.messages
    assert not User.objects.filter(username="oscar").exists()
    assert access(admin, registry, "oscar/secret") == {"pull"}  # admins keep reading it; nobody pushes


def test_a_team_under_a_deleted_namespaces_name_gets_none_of_its_images(owner, namespace, admin, registry,
                                                                        fake_registry, outsider):
    pushed(namespace, "app", "v1", DIGEST, fake_registry)
    namespace_delete(namespace=namespace, by=owner)
    from teams.services import team_create

    other = team_create(name="others", owner=outsider)
    with pytest.raises(ValidationError) as refused:
        namespace_create(name="qa", team=other, by=outsider, registry=registry)
    assert retirement.RESERVED_MESSAGE in refused.value.messages
    # The team that had it keeps nothing either: its members lose access with the namespace.
    assert access(owner, registry, "qa/app") == set()
    assert access(admin, registry, "qa/app") == {"pull"}


# --- deleting: retire or forget ------------------------------------------------------------------------------


def test_deleting_a_namespace_with_images_retires_it(owner, namespace, admin, fake_registry):
    pushed(namespace, "app", "v1", DIGEST, fake_registry)
    assert namespace_delete(namespace=namespace, by=owner) is True
    retired = Namespace.objects.select_related("team").get(pk=namespace.pk)
    assert retired.is_retired and retired.retired_by == owner and retired.former_owner == "team qa"
    assert retired.team.hidden and retired.team.name == f"global/{retired.registry_id}"
    assert retired.visibility == "private"
    assert not Namespace.objects.visible_to(owner).filter(pk=namespace.pk).exists()
    assert Namespace.objects.visible_to(admin).filter(pk=namespace.pk).exists()


def test_images_only_the_registry_knows_retire_the_namespace_too(owner, namespace, fake_registry):
    fake_registry.push("qa/unknown-here", "v1", DIGEST)
    assert namespace_delete(namespace=namespace, by=owner) is True


def test_a_registry_that_cannot_be_asked_retires_the_namespace(owner, namespace, fake_registry):
    fake_registry.down = True
    assert namespace_delete(namespace=namespace, by=owner) is True


def test_a_namespace_with_no_image_anywhere_is_forgotten_and_its_name_is_free(owner, namespace, team, registry,
                                                                             fake_registry):
    fake_registry.push("qa-other/app", "v1", DIGEST)  # a neighbour's image is not this namespace's
    Repository.objects.create(namespace=namespace, name="emptied")  # no tag left
    assert namespace_delete(namespace=namespace, by=owner) is False
    assert not Namespace.objects.filter(pk=namespace.pk).exists()
    assert namespace_create(name="qa", team=team, by=owner, registry=registry).name == "qa"


def test_a_retired_namespace_cannot_be_deleted_again(owner, namespace, fake_registry):
    pushed(namespace, "app", "v1", DIGEST, fake_registry)
    namespace_delete(namespace=namespace, by=owner)
    with pytest.raises(ValidationError):
        namespace_delete(namespace=Namespace.objects.get(pk=namespace.pk), by=owner)


def test_deleting_a_user_with_an_empty_personal_namespace_frees_the_name(admin, outsider, fake_registry):
    assert user_delete(user=outsider, by=admin) == [("main", "deleted")]
    assert not Namespace.objects.filter(name="oscar").exists()
    assert newcomer("oscar").username == "oscar"


def test_deleting_a_user_keeps_the_images_by_default(admin, outsider, registry, fake_registry):
    pushed(Namespace.objects.get(name="oscar"), "secret", "v1", DIGEST, fake_registry)
    assert user_delete(user=outsider, by=admin) == [("main", "retired")]
    retired = Namespace.objects.get(name="oscar")
    assert retired.is_retired and retired.former_owner == "user oscar" and retired.team.personal_of_id is None
    assert fake_registry.deleted == []
    with pytest.raises(ValidationError):
        namespace_create(name="oscar", team=retired.team, by=admin, registry=registry)


def test_deleting_a_user_with_purge_deletes_the_images_and_frees_the_name(admin, outsider, options, fake_registry):
    options.set("delete.enabled", True)
    pushed(Namespace.objects.get(name="oscar"), "secret", "v1", DIGEST, fake_registry)
    assert user_delete(user=outsider, by=admin, purge_images=True) == [("main", "purged")]
    assert fake_registry.deleted == [("oscar/secret", DIGEST)]
    assert not Namespace.objects.filter(name="oscar").exists()
    fresh = newcomer("oscar")
    assert fake_registry.holds("oscar/secret") == {}
    assert Tag.objects.filter(repository__namespace__name="oscar").count() == 0 and fresh.username == "oscar"


def test_purging_a_users_images_needs_deletes_enabled(admin, outsider, fake_registry):
    with pytest.raises(ValidationError):
        user_delete(user=outsider, by=admin, purge_images=True)
    assert User.objects.filter(pk=outsider.pk).exists()


# --- release and purge ---------------------------------------------------------------------------------------


@pytest.fixture
def retired(owner, namespace, fake_registry):
    pushed(namespace, "app", "v1", DIGEST, fake_registry)
    namespace_delete(namespace=namespace, by=owner)
    return Namespace.objects.get(pk=namespace.pk)


def test_release_is_refused_while_the_registry_holds_images(retired, admin, fake_registry):
    with pytest.raises(ValidationError, match="still holds images under qa .qa/app.: purge them first"):
        retirement.namespace_release(namespace=retired, by=admin)
    assert Namespace.objects.filter(pk=retired.pk).exists()


def test_release_frees_the_name_once_the_registry_holds_nothing(retired, admin, fake_registry, team, owner,
                                                                registry):
    fake_registry.repositories["qa/app"].clear()  # deleted in the registry meanwhile; still listed, no tag
    retirement.namespace_release(namespace=retired, by=admin)
    assert not Namespace.objects.filter(pk=retired.pk).exists()
    assert namespace_create(name="qa", team=team, by=owner, registry=registry).repositories.count() == 0


def test_release_is_refused_when_the_registry_cannot_be_asked(retired, admin, fake_registry):
    fake_registry.down = True
    with pytest.raises(ValidationError, match="could not say"):
        retirement.namespace_release(namespace=retired, by=admin)


def test_only_admins_release_and_purge(retired, owner, options):
    options.set("delete.enabled", True)
    with pytest.raises(PermissionDenied):
        retirement.namespace_release(namespace=retired, by=owner)
    with pytest.raises(PermissionDenied):
        retirement.namespace_purge(namespace=retired, by=owner)


def test_purge_deletes_every_manifest_under_the_name_then_frees_it(retired, admin, options, fake_registry):
    options.set("delete.enabled", True)
    index = pushed(retired, "multi", "v2", OTHER, fake_registry,
                   platforms=[{"os": "linux", "architecture": "amd64", "digest": CHILD}])
    fake_registry.push("qa/multi", "v2", index.digest, children=(CHILD,))
    fake_registry.push("qa/only-there", "x", DIGEST)
    result = retirement.namespace_purge(namespace=retired, by=admin)
    assert result == retirement.PurgeResult(deleted=4, remaining=0, released=True)
    assert sorted(fake_registry.deleted) == sorted([("qa/app", DIGEST), ("qa/multi", OTHER), ("qa/multi", CHILD),
                                                    ("qa/only-there", DIGEST)])
    assert not Namespace.objects.filter(pk=retired.pk).exists()


def test_purge_works_in_bounded_batches(retired, admin, options, fake_registry, monkeypatch):
    options.set("delete.enabled", True)
    monkeypatch.setattr(retirement, "MAX_PURGE_MANIFESTS", 2)
    for tag, digest in (("a", "sha256:" + "4" * 64), ("b", "sha256:" + "5" * 64)):
        fake_registry.push("qa/app", tag, digest)
    first = retirement.namespace_purge(namespace=retired, by=admin)
    assert first.deleted == 2 and first.remaining == 1 and not first.released
    assert Namespace.objects.get(pk=retired.pk).is_retired
    second = retirement.namespace_purge(namespace=Namespace.objects.get(pk=retired.pk), by=admin)
    assert second.released and len(fake_registry.deleted) == 3


def test_purge_stops_with_a_clear_error_when_the_registry_refuses_deletes(retired, admin, options, fake_registry):
    options.set("delete.enabled", True)
    fake_registry.deletes_allowed = False
    with pytest.raises(ValidationError, match="does not allow deletes"):
        retirement.namespace_purge(namespace=retired, by=admin)
    assert Namespace.objects.get(pk=retired.pk).is_retired


# --- reading the catalog: only as far as the name ------------------------------------------------------------


@pytest.mark.parametrize("listed", [
    ["a/x", "qa-b/y", "qa/app", "qa/z", "qa0/x", "qb/x", "z/x"],  # string order
    ["a/x", "qa/app", "qa/z", "qa-b/y", "qa0/x", "qb/x", "z/x"],  # path order (Distribution's walk)
])
def test_the_catalog_is_left_once_past_the_name(listed):
    read: list[str] = []

    def catalog():
        for name in listed:
            read.append(name)
            yield name

    assert retirement._catalog_under(catalog(), "qa/") == ["qa/app", "qa/z"]
    assert read[-1] == "qa0/x"


def test_a_catalog_seen_out_of_order_is_read_to_the_end():
    listed = ["b/x", "a/x", "qb/x", "qa/app", "qa/z"]
    assert retirement._catalog_under(iter(listed), "qa/") == ["qa/app", "qa/z"]
