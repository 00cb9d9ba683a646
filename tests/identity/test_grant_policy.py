"""Per-repository grants in the one policy: what each grant gives, where it stops, and every list obeys."""

from __future__ import annotations

import pytest

from grants.services import grant_change, grant_create, grant_delete
from namespaces import policy
from namespaces.models import Namespace, Repository
from tests.identity.conftest import fresh


def actions(user, namespace, name):
    return policy.repository_actions(fresh(user), Namespace.objects.get(pk=namespace.pk), name)


@pytest.mark.parametrize(("permission", "delete_enabled", "expected"), [
    ("pull", True, {"pull"}),
    ("push", True, {"pull", "push"}),
    ("admin", True, {"pull", "push", "delete"}),
    ("admin", False, {"pull", "push"}),
])
def test_a_user_grant_gives_its_permission_on_that_repository_only(permission, delete_enabled, expected, options,
                                                                    namespace, outsider, owner, repositories):
    options.set("delete.enabled", delete_enabled)
    grant_create(namespace=namespace, pattern="app", permission=permission, by=owner, user=outsider)
    assert actions(outsider, namespace, "app") == expected
    assert actions(outsider, namespace, "app/web") == set()
    assert actions(outsider, namespace, "myxapp") == set()


def test_a_pattern_grant_covers_the_matching_names(namespace, outsider, owner, repositories):
    grant_create(namespace=namespace, pattern="app/*", permission="push", by=owner, user=outsider)
    assert actions(outsider, namespace, "app/web") == {"pull", "push"}
    assert actions(outsider, namespace, "app/web/nightly") == {"pull", "push"}  # not yet pushed: allowed too
    assert actions(outsider, namespace, "app") == set()


def test_underscore_in_a_grant_is_no_wildcard(namespace, outsider, owner, repositories):
    grant_create(namespace=namespace, pattern="my_app", permission="pull", by=owner, user=outsider)
    visible = set(Repository.objects.visible_to(fresh(outsider)).values_list("name", flat=True))
    assert visible == {"my_app"}


def test_a_team_grant_reaches_its_members(namespace, other_namespace, outsider, owner, repositories):
    grant_create(namespace=namespace, pattern="tools/*", permission="pull", by=owner, team=other_namespace.team)
    assert actions(outsider, namespace, "tools/lint") == {"pull"}
    assert set(Repository.objects.visible_to(fresh(outsider)).filter(namespace=namespace)
               .values_list("name", flat=True)) == {"tools/lint"}


def test_grants_add_to_a_role_never_take_away(namespace, viewer, owner, repositories):
    grant_create(namespace=namespace, pattern="app", permission="push", by=owner, user=viewer)
    assert actions(viewer, namespace, "app") == {"pull", "push"}
    assert actions(viewer, namespace, "tools/lint") == {"pull"}


def test_a_grantee_sees_the_granted_repositories_and_nothing_else(namespace, outsider, owner, repositories):
    grant_create(namespace=namespace, pattern="app*", permission="pull", by=owner, user=outsider)
    user = fresh(outsider)
    assert set(Repository.objects.visible_to(user).values_list("name", flat=True)) == {"app", "app/web"}
    assert Namespace.objects.visible_to(user).filter(pk=namespace.pk).exists()
    assert policy.can_see_namespace(user, namespace)
    assert not policy.can_pull(user, namespace)


def test_taking_a_grant_away_ends_it(namespace, outsider, owner, repositories):
    grant = grant_create(namespace=namespace, pattern="app", permission="pull", by=owner, user=outsider)
    grant_change(grant=grant, permission="push", by=owner)
    assert actions(outsider, namespace, "app") == {"pull", "push"}
    grant_delete(grant=grant, by=owner)
    assert actions(outsider, namespace, "app") == set()
    assert not Repository.objects.visible_to(fresh(outsider)).exists()
    assert not Namespace.objects.visible_to(fresh(outsider)).filter(pk=namespace.pk).exists()


def test_grants_stop_in_a_retired_namespace(namespace, outsider, owner, admin, repositories):
    from namespaces.retirement import namespace_retire

    grant_create(namespace=namespace, pattern="app", permission="push", by=owner, user=outsider)
    namespace_retire(namespace=namespace, by=admin, former_owner="team qa")
    assert actions(outsider, namespace, "app") == set()
    assert not Repository.objects.visible_to(fresh(outsider)).exists()


def test_push_grants_obey_the_admin_only_push_policy(namespace, outsider, owner, options, repositories):
    grant_create(namespace=namespace, pattern="app", permission="push", by=owner, user=outsider)
    options.set("user_permission.push_images.policy", "admin-only")
    assert actions(outsider, namespace, "app") == {"pull"}


def test_a_disabled_grantee_gets_nothing(namespace, outsider, owner, admin, repositories):
    from accounts.services import user_update

    grant_create(namespace=namespace, pattern="app", permission="push", by=owner, user=outsider)
    user_update(user=outsider, by=admin, enabled=False)
    assert actions(outsider, namespace, "app") == set()
    assert not Repository.objects.visible_to(fresh(outsider)).exists()


@pytest.mark.parametrize("pattern", ["", "/x", "a b", "A", "x" * 300, "a[b]", "a\x00b"])
def test_bad_patterns_are_refused(namespace, outsider, owner, pattern):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        grant_create(namespace=namespace, pattern=pattern, permission="pull", by=owner, user=outsider)


def test_one_grant_per_grantee_and_pattern(namespace, outsider, owner):
    from django.core.exceptions import ValidationError

    grant_create(namespace=namespace, pattern="app", permission="pull", by=owner, user=outsider)
    with pytest.raises(ValidationError):
        grant_create(namespace=namespace, pattern="app", permission="push", by=owner, user=outsider)


def test_grants_are_managed_by_the_namespace_managers_only(namespace, owner, contributor, viewer, outsider, admin):
    assert policy.can_manage_grants(owner, namespace)
    assert policy.can_manage_grants(admin, namespace)
    for user in (contributor, viewer, outsider):
        assert not policy.can_manage_grants(user, namespace)


def test_every_grant_change_is_an_activity_with_a_text(namespace, outsider, owner):
    from activities.models import Activity
    from web.templatetags.portus_activity import ACTIVITY_TEXTS

    grant = grant_create(namespace=namespace, pattern="app", permission="pull", by=owner, user=outsider)
    grant_change(grant=grant, permission="admin", by=owner)
    grant_delete(grant=grant, by=owner)
    keys = list(Activity.objects.filter(key__startswith="grant.").order_by("id").values_list("key", flat=True))
    assert keys == ["grant.create", "grant.change", "grant.delete"]
    assert all(key in ACTIVITY_TEXTS for key in keys)


@pytest.mark.parametrize(("permission", "may_edit"), [("pull", False), ("push", False), ("admin", True)])
def test_only_an_admin_grant_edits_the_description(permission, may_edit, namespace, outsider, owner, repositories):
    """A `push` grant pushes images and no more; `admin` also edits the description (README, grants)."""
    grant_create(namespace=namespace, pattern="app", permission=permission, by=owner, user=outsider)
    app = Repository.objects.select_related("namespace").get(pk=repositories["app"].pk)
    assert policy.can_edit_repository(fresh(outsider), app) is may_edit
    assert policy.can_edit_repository(fresh(outsider), Repository.objects.get(pk=repositories["app/web"].pk)) is False


def test_a_robot_makes_no_tokens_of_its_own(robot, instance_robot, owner):
    """Its managers give and take its tokens: a leaked robot token cannot mint one that outlives it."""
    assert policy.can_manage_tokens_of(fresh(robot), robot) is False
    assert policy.can_manage_tokens_of(fresh(instance_robot), instance_robot) is False
    assert policy.can_manage_tokens_of(fresh(owner), robot) is True
