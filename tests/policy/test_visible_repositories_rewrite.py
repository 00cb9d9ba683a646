"""visible_repositories_q selects exactly the rows of its former form (a correlated EXISTS per row, with no
prefilter) on a seeded world with grants of every shape: to users and to teams, with wildcards, in namespaces
the grantee sees anyway or not, in a retired namespace, and for a namespace's robot."""

from __future__ import annotations

import random

import pytest
from django.core.management import call_command
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from accounts.models import User
from accounts.robots import robot_create
from grants.models import Like, RepositoryGrant
from grants.patterns import like_pattern
from namespaces import policy
from namespaces.models import Namespace, Repository
from namespaces.namespace_rules import pullable_namespaces_q
from teams.models import Team, TeamMember

PATTERNS = ("*", "api", "api*", "*-web", "web*", "*worker*", "nothing-matches", "proxy/*")


def former_granted_q(user, prefix: str = "") -> Q:
    """granted_repositories_q as it was: the EXISTS alone."""
    if not policy.is_active(user):
        return Q(pk__in=[])
    teams = TeamMember.objects.filter(user_id=user.pk).values("team_id")
    grants = RepositoryGrant.objects.filter(Q(user_id=user.pk) | Q(team_id__in=teams),
                                            namespace_id=OuterRef(f"{prefix}namespace_id"),
                                            namespace__retired_at__isnull=True)
    if getattr(user, "robot_namespace_id", None) is not None:
        grants = grants.filter(namespace_id=user.robot_namespace_id)
    grants = grants.filter(Like(OuterRef(f"{prefix}name"), F("like_pattern")))
    return Q(Exists(grants))


def former_visible_q(user, prefix: str = "") -> Q:
    namespace_q = pullable_namespaces_q(user, prefix=f"{prefix}namespace__")
    if policy.is_anonymous(user) or not policy.is_active(user) or (
            user.admin and getattr(user, "robot_namespace_id", None) is None):
        return namespace_q
    return namespace_q | former_granted_q(user, prefix)


@pytest.fixture
def seeded(db, registry):
    call_command("seed_demo", repositories=300, tags=600, users=30, stdout=open("/dev/null", "w"))  # noqa: SIM115
    rng = random.Random(7)
    people = list(User.objects.filter(bot=False, admin=False))
    teams = list(Team.objects.filter(hidden=False))
    namespaces = list(Namespace.objects.filter(is_global=False, retired_at__isnull=True))
    admin = User.objects.get(username="admin")
    for i in range(120):
        grantee = {"user": rng.choice(people)} if i % 2 else {"team": rng.choice(teams)}
        pattern = rng.choice(PATTERNS)
        RepositoryGrant.objects.get_or_create(namespace=rng.choice(namespaces), pattern=pattern,
                                              defaults={"like_pattern": like_pattern(pattern), "permission": "pull",
                                                        "created_by": admin}, **grantee)
    granting = list(Namespace.objects.filter(grants__isnull=False).distinct())
    robots = [robot_create(name=f"ci{i}", by=admin, namespace=ns) for i, ns in enumerate(granting[:3])]
    for robot in robots:
        RepositoryGrant.objects.create(namespace_id=robot.robot_namespace_id, pattern="*", like_pattern="%",
                                       permission="pull", user=robot, created_by=admin)
        other = next(ns for ns in namespaces if ns.pk != robot.robot_namespace_id)
        RepositoryGrant.objects.create(namespace=other, pattern="*", like_pattern="%", permission="pull", user=robot,
                                       created_by=admin)
    Namespace.objects.filter(pk__in=[ns.pk for ns in granting[5:8]]).update(retired_at=timezone.now())
    User.objects.filter(pk=people[-1].pk).update(enabled=False)
    robots = User.objects.filter(pk__in=[r.pk for r in robots])
    return [None, admin, *User.objects.filter(bot=False, admin=False), *robots]


def test_visible_repositories_are_the_same_rows_as_before(seeded):
    assert RepositoryGrant.objects.count() > 50
    some_granted = False
    for user in seeded:
        before = set(Repository.objects.filter(former_visible_q(user)).values_list("pk", flat=True))
        after = set(Repository.objects.visible_to(user).values_list("pk", flat=True))
        assert after == before, user
        if user is not None and not user.admin:
            by_namespace = set(Repository.objects.filter(pullable_namespaces_q(user, "namespace__"))
                               .values_list("pk", flat=True))
            some_granted = some_granted or bool(before - by_namespace)
    assert some_granted  # the grants did add rows somewhere: the comparison covered them


def test_through_a_prefix_too(seeded):
    from namespaces.models import Tag

    for user in seeded[:8]:
        before = set(Tag.objects.filter(former_visible_q(user, "repository__")).values_list("pk", flat=True))
        after = set(Tag.objects.filter(policy.visible_repositories_q(user, "repository__"))
                    .values_list("pk", flat=True))
        assert after == before, user


def test_the_list_forms_are_the_same_rows_too(seeded):
    """walkable_repositories_q (the API's list) and listed_repositories_q (the UI's, which reads the grants
    first) select exactly the rows of the former form, for every user of the seeded world."""
    for user in seeded:
        before = set(Repository.objects.filter(former_visible_q(user)).values_list("pk", flat=True))
        for form in (policy.walkable_repositories_q, policy.listed_repositories_q):
            if user is not None:
                policy.forget_grants(user)
            after = set(Repository.objects.filter(form(user)).values_list("pk", flat=True))
            assert after == before, (form.__name__, user)
