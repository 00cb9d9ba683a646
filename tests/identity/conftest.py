"""Actors of the identity tests: a robot of namespace qa, an instance robot, a second namespace."""

from __future__ import annotations

import pytest


@pytest.fixture
def robot(namespace, owner):
    from accounts.robots import robot_create

    return robot_create(name="ci", namespace=namespace, by=owner)


@pytest.fixture
def instance_robot(admin):
    from accounts.robots import robot_create

    return robot_create(name="mirror", by=admin)


@pytest.fixture
def other_namespace(registry, outsider):
    """Namespace `web` of team web, owned by oscar, private."""
    from namespaces.services import namespace_create
    from teams.services import team_create

    team = team_create(name="web", owner=outsider)
    return namespace_create(name="web", team=team, by=outsider, registry=registry)


@pytest.fixture
def repositories(namespace):
    from namespaces.models import Repository

    return {name: Repository.objects.create(namespace=namespace, name=name)
            for name in ("app", "app/web", "tools/lint", "my_app", "myxapp")}


def fresh(user):
    """The user as a new request would load it (no memo of roles or grants)."""
    from accounts.models import User

    return User.objects.select_related("robot_namespace").get(pk=user.pk)
