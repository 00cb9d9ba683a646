"""Robots: tokens only, acting in their own namespace only, stopped with it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.robots import robot_create, robot_set_enabled
from grants.services import grant_create
from namespaces import policy
from namespaces.models import Namespace, Repository
from teams.models import Role
from teams.services import team_member_add
from tests.identity.conftest import fresh


def test_login_names_are_harbors_form(robot, instance_robot):
    assert robot.username == "robot$qa+ci"
    assert instance_robot.username == "robot$mirror"
    assert robot.is_robot and instance_robot.is_robot and robot.bot
    assert not robot.has_usable_password()


def test_a_person_cannot_take_a_robots_name(registry):
    from accounts.services import user_create

    with pytest.raises(ValidationError):
        user_create(username="robot$qa+ci", email="x@example.org", password="a-long-password-1", check_password=False)


@pytest.mark.parametrize("name", ["", "CI", "a b", "robot$x", "a+b", "x" * 65, "é"])
def test_bad_robot_names_are_refused(namespace, owner, name):
    with pytest.raises(ValidationError):
        robot_create(name=name, namespace=namespace, by=owner)


def test_a_robot_with_a_role_acts_in_its_namespace(robot, namespace, owner, team):
    team_member_add(team=team, user=robot, role=Role.CONTRIBUTOR, by=owner)
    user = fresh(robot)
    assert policy.allowed_actions(user, Namespace.objects.get(pk=namespace.pk)) == {"pull", "push"}


def test_a_namespace_robot_has_nothing_elsewhere_even_in_the_same_team(robot, namespace, owner, team, registry):
    from namespaces.services import namespace_create

    team_member_add(team=team, user=robot, role=Role.CONTRIBUTOR, by=owner)
    sibling = namespace_create(name="qa-tools", team=team, by=owner, registry=registry)
    user = fresh(robot)
    assert policy.allowed_actions(user, sibling) == set()
    assert not Namespace.objects.visible_to(user).filter(pk=sibling.pk).exists()
    sibling.visibility = "protected"
    sibling.save()
    assert not policy.can_pull(user, sibling)  # not "any signed-in user": a robot acts where it belongs
    sibling.visibility = "public"
    sibling.save()
    assert policy.can_pull(user, sibling) and not policy.can_push(user, sibling)


def test_a_namespace_robot_takes_no_grant_elsewhere(robot, other_namespace, outsider):
    with pytest.raises(ValidationError):
        grant_create(namespace=other_namespace, pattern="app", permission="pull", by=outsider, user=robot)


def test_a_robot_with_a_grant_sees_only_that(robot, namespace, owner, repositories):
    grant_create(namespace=namespace, pattern="app", permission="push", by=owner, user=robot)
    user = fresh(robot)
    assert policy.repository_actions(user, namespace, "app") == {"pull", "push"}
    assert set(Repository.objects.visible_to(user).values_list("name", flat=True)) == {"app"}


def test_retiring_the_namespace_disables_its_robots_at_once(robot, namespace, admin, owner, team):
    from namespaces.retirement import namespace_retire

    team_member_add(team=team, user=robot, role=Role.CONTRIBUTOR, by=owner)
    assert policy.is_active(fresh(robot))
    namespace_retire(namespace=namespace, by=admin, former_owner="team qa")
    assert not policy.is_active(fresh(robot))


def test_deleting_the_namespace_deletes_its_robots(robot, namespace):
    from accounts.models import User

    namespace.repositories.all().delete()
    Namespace.objects.filter(pk=namespace.pk).delete()
    assert not User.objects.filter(pk=robot.pk).exists()


def test_a_disabled_robot_acts_nowhere(robot, namespace, owner, team):
    team_member_add(team=team, user=robot, role=Role.CONTRIBUTOR, by=owner)
    robot_set_enabled(robot=robot, enabled=False, by=owner)
    assert policy.allowed_actions(fresh(robot), namespace) == set()


def test_who_manages_robots(robot, instance_robot, namespace, owner, contributor, viewer, outsider, admin):
    assert policy.can_create_robot(owner, namespace) and policy.can_manage_robot(owner, robot)
    assert policy.can_manage_tokens_of(owner, robot)
    assert policy.can_create_robot(admin, None) and policy.can_manage_robot(admin, instance_robot)
    for user in (contributor, viewer, outsider):
        assert not policy.can_create_robot(user, namespace)
        assert not policy.can_manage_robot(user, robot)
        assert not policy.can_manage_tokens_of(user, robot)
    assert not policy.can_create_robot(owner, None)
    assert not policy.can_manage_robot(owner, instance_robot)


def test_a_robot_cannot_manage_anything_even_as_an_owner(robot, namespace, owner, team):
    team_member_add(team=team, user=robot, role=Role.OWNER, by=owner)
    user = fresh(robot)
    assert not policy.can_manage_namespace(user, namespace)
    assert not policy.can_create_robot(user, namespace)
    assert not policy.can_use_ui(user)


def test_robot_changes_are_activities_with_texts(namespace, owner):
    from accounts.robots import robot_delete
    from activities.models import Activity
    from web.templatetags.portus_activity import ACTIVITY_TEXTS

    robot = robot_create(name="deployer", namespace=namespace, by=owner)
    robot_set_enabled(robot=robot, enabled=False, by=owner)
    robot_set_enabled(robot=robot, enabled=True, by=owner)
    robot_delete(robot=robot, by=owner)
    keys = list(Activity.objects.filter(key__startswith="robot.").order_by("id").values_list("key", flat=True))
    assert keys == ["robot.create", "robot.disable", "robot.enable", "robot.delete"]
    assert all(key in ACTIVITY_TEXTS for key in keys)


def test_existing_bots_keep_working(bot, namespace):
    assert not bot.is_robot
    assert policy.allowed_actions(fresh(bot), namespace) == {"pull", "push"}


def test_a_namespace_with_robots_keeps_its_name(robot, namespace, owner):
    from namespaces.services import namespace_update

    with pytest.raises(ValidationError):
        namespace_update(namespace=namespace, by=owner, name="qa-renamed")
