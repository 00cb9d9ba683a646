"""The permission policy, as a table: every role × visibility × action × account state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from namespaces import policy
from namespaces.models import Namespace

ROLES = ["admin", "owner", "contributor", "viewer", "outsider", "bot", "anonymous"]
VISIBILITIES = ["private", "protected", "public"]
ACTIONS = ["pull", "push", "delete"]
STATES = ["enabled", "disabled", "locked"]

# Team namespace `qa`, with delete.enabled on and delete.contributors off, push policy allow-teams.
# The bot is a contributor of the team.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("admin", "private"): {"pull", "push", "delete"},
    ("admin", "protected"): {"pull", "push", "delete"},
    ("admin", "public"): {"pull", "push", "delete"},
    ("owner", "private"): {"pull", "push", "delete"},
    ("owner", "protected"): {"pull", "push", "delete"},
    ("owner", "public"): {"pull", "push", "delete"},
    ("contributor", "private"): {"pull", "push"},
    ("contributor", "protected"): {"pull", "push"},
    ("contributor", "public"): {"pull", "push"},
    ("bot", "private"): {"pull", "push"},
    ("bot", "protected"): {"pull", "push"},
    ("bot", "public"): {"pull", "push"},
    ("viewer", "private"): {"pull"},
    ("viewer", "protected"): {"pull"},
    ("viewer", "public"): {"pull"},
    ("outsider", "private"): set(),
    ("outsider", "protected"): {"pull"},
    ("outsider", "public"): {"pull"},
    ("anonymous", "private"): set(),
    ("anonymous", "protected"): set(),
    ("anonymous", "public"): {"pull"},
}

CHECKS = {"pull": policy.can_pull, "push": policy.can_push, "delete": policy.can_delete}


@pytest.fixture
def actors(admin, owner, contributor, viewer, outsider, bot, team):
    return {"admin": admin, "owner": owner, "contributor": contributor, "viewer": viewer,
            "outsider": outsider, "bot": bot, "anonymous": AnonymousUser()}


def _apply_state(user, state):
    if state == "disabled":
        user.enabled = False
        user.save()
    elif state == "locked":
        user.locked_until = timezone.now() + timedelta(minutes=5)
        user.save()


# An anonymous visitor has no account state: it appears once.
CASES = [(r, v, s) for r in ROLES for v in VISIBILITIES for s in STATES if r != "anonymous" or s == "enabled"]


@pytest.mark.parametrize(("role", "visibility", "state"), CASES)
def test_policy_table(actors, namespace, options, role, visibility, state):
    options.set("delete.enabled", True)
    namespace.visibility = visibility
    namespace.save()
    user = actors[role]
    if role != "anonymous":
        _apply_state(user, state)
        user = type(user).objects.get(pk=user.pk)
    # A lock refuses password logins only (accounts/credentials.py): a locked account's tokens and
    # sessions keep what an enabled one has, so a stranger's wrong guesses switch nothing off.
    expected = EXPECTED[(role, visibility)] if state in ("enabled", "locked") else set()
    for action in ACTIONS:
        assert CHECKS[action](user, namespace) is (action in expected), (role, visibility, state, action)
    assert policy.allowed_actions(user, namespace) == expected
    # The queryset rule agrees with can_pull.
    visible = Namespace.objects.visible_to(user).filter(pk=namespace.pk).exists()
    assert visible is ("pull" in expected)


def test_delete_disabled_denies_everyone(actors, namespace, options):
    options.set("delete.enabled", False)
    for role in ROLES:
        assert not policy.can_delete(actors[role], namespace), role


def test_contributors_delete_when_allowed(actors, namespace, options):
    options.set("delete.enabled", True)
    options.set("delete.contributors", True)
    assert policy.can_delete(actors["contributor"], namespace)
    assert not policy.can_delete(actors["viewer"], namespace)


def test_admin_only_push_policy(actors, namespace, options):
    options.set("user_permission.push_images.policy", "admin-only")
    assert policy.can_push(actors["admin"], namespace)
    for role in ("owner", "contributor", "bot", "viewer", "outsider"):
        assert not policy.can_push(actors[role], namespace), role
    personal = Namespace.objects.get(name="olivia")
    assert not policy.can_push(actors["owner"], personal)


def test_allow_personal_push_policy(actors, namespace, options):
    options.set("user_permission.push_images.policy", "allow-personal")
    assert not policy.can_push(actors["owner"], namespace)
    assert not policy.can_push(actors["contributor"], namespace)
    assert policy.can_push(actors["owner"], Namespace.objects.get(name="olivia"))
    assert not policy.can_push(actors["contributor"], Namespace.objects.get(name="olivia"))


def test_personal_namespace_is_private_to_its_owner(actors, options):
    options.set("delete.enabled", True)
    personal = Namespace.objects.get(name="carl")
    assert policy.allowed_actions(actors["contributor"], personal) == {"pull", "push", "delete"}
    for role in ("owner", "viewer", "outsider", "bot", "anonymous"):
        assert policy.allowed_actions(actors[role], personal) == set(), role
    assert policy.allowed_actions(actors["admin"], personal) == {"pull", "push", "delete"}


def test_global_namespace_only_admins_push(actors, registry, options):
    options.set("delete.enabled", True)
    global_ns = Namespace.objects.get(registry=registry, is_global=True)
    assert policy.allowed_actions(actors["admin"], global_ns) == {"pull", "push", "delete"}
    for role in ("owner", "contributor", "viewer", "outsider", "bot"):
        assert policy.allowed_actions(actors[role], global_ns) == {"pull"}, role
    assert policy.allowed_actions(actors["anonymous"], global_ns) == {"pull"}


MANAGE = {
    # role: (manage namespace, change visibility, manage team, create namespace in team)
    "admin": (True, True, True, True),
    "owner": (True, True, True, True),
    "contributor": (False, False, False, True),
    "bot": (False, False, False, False),
    "viewer": (False, False, False, False),
    "outsider": (False, False, False, False),
    "anonymous": (False, False, False, False),
}


@pytest.mark.parametrize("role", ROLES)
def test_management_table(actors, namespace, team, role):
    user = actors[role]
    got = (policy.can_manage_namespace(user, namespace), policy.can_change_visibility(user, namespace),
           policy.can_manage_team(user, team), policy.can_create_namespace(user, team))
    assert got == MANAGE[role]


# role: (rename qa, move qa into team `other`, which the owner owns and the contributor contributes to)
MOVE = {
    "admin": (True, True),
    "owner": (True, True),
    "contributor": (False, False),
    "bot": (False, False),
    "viewer": (False, False),
    "outsider": (False, False),
    "anonymous": (False, False),
}


@pytest.mark.parametrize("role", ROLES)
def test_rename_and_move_table(actors, namespace, role):
    from teams.models import Role
    from teams.services import team_create, team_member_add

    other = team_create(name="other", owner=actors["owner"])
    team_member_add(team=other, user=actors["contributor"], role=Role.CONTRIBUTOR, by=actors["owner"])
    user = actors[role]
    got = (policy.can_rename_namespace(user, namespace), policy.can_move_namespace(user, namespace, other))
    assert got == MOVE[role]


def test_moving_needs_a_right_in_the_team_it_goes_to(actors, namespace, outsider):
    from teams.models import Role
    from teams.services import team_create, team_member_add

    theirs = team_create(name="theirs", owner=outsider)
    assert not policy.can_move_namespace(actors["owner"], namespace, theirs)
    team_member_add(team=theirs, user=actors["owner"], role=Role.VIEWER, by=outsider)
    assert not policy.can_move_namespace(actors["owner"], namespace, theirs)
    assert policy.can_move_namespace(actors["admin"], namespace, theirs)


def test_personal_and_global_namespaces_are_not_renamed_but_a_push_created_one_is(actors, registry):
    from namespaces.services import global_namespace_ensure, namespace_for_push

    admin = actors["admin"]
    personal = Namespace.objects.get(registry=registry, name="admin")
    pushed = namespace_for_push(registry=registry, name="made-by-push", user=admin)
    assert personal.is_personal and not pushed.is_personal and pushed.awaits_team
    assert not policy.can_rename_namespace(admin, personal)
    assert not policy.can_rename_namespace(admin, global_namespace_ensure(registry=registry))
    assert policy.can_rename_namespace(admin, pushed)
    assert policy.can_destroy_namespace(admin, pushed) and not policy.can_destroy_namespace(admin, personal)


def test_user_permission_options_limit_owners_not_admins(actors, namespace, team, options):
    options.set("user_permission.manage_namespace.enabled", False)
    options.set("user_permission.change_visibility.enabled", False)
    options.set("user_permission.manage_team.enabled", False)
    options.set("user_permission.create_namespace.enabled", False)
    options.set("user_permission.create_team.enabled", False)
    owner, admin = actors["owner"], actors["admin"]
    assert not policy.can_manage_namespace(owner, namespace)
    assert not policy.can_change_visibility(owner, namespace)
    assert not policy.can_manage_team(owner, team)
    assert not policy.can_create_namespace(owner, team)
    assert not policy.can_create_team(owner)
    assert policy.can_manage_namespace(admin, namespace)
    assert policy.can_change_visibility(admin, namespace)
    assert policy.can_manage_team(admin, team)
    assert policy.can_create_team(admin)


@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_anonymous_browsing_off_gives_anonymous_visitors_nothing(actors, namespace, registry, options, visibility):
    """The option governs every anonymous door: no pull, nothing in any visibility-filtered list."""
    options.set("anonymous_browsing.enabled", False)
    namespace.visibility = visibility
    namespace.save()
    anonymous = actors["anonymous"]
    global_ns = Namespace.objects.get(registry=registry, is_global=True)
    for target in (namespace, global_ns):
        assert not policy.can_pull(anonymous, target), (visibility, target.name)
        assert policy.allowed_actions(anonymous, target) == set()
    assert not Namespace.objects.visible_to(anonymous).exists()
    assert not Namespace.objects.visible_to(None).exists()
    # Signed-in users are not affected.
    assert policy.can_pull(actors["outsider"], namespace) is (visibility != "private")


# --- retired namespaces (namespaces/retirement.py) ------------------------------------------------------------

RETIRED_EXPECTED = {role: set() for role in ROLES} | {"admin": {"pull", "delete"}}


@pytest.fixture
def retired(namespace, owner):
    from namespaces.retirement import namespace_retire

    return namespace_retire(namespace=namespace, by=owner, former_owner="team qa")


@pytest.mark.parametrize(("role", "visibility", "state"), CASES)
def test_retired_namespace_table(actors, retired, options, role, visibility, state):
    """Only admins pull (and delete, to purge); nobody pushes, whatever its visibility was set to."""
    options.set("delete.enabled", True)
    retired.visibility = visibility
    retired.save()
    user = actors[role]
    if role != "anonymous":
        _apply_state(user, state)
        user = type(user).objects.get(pk=user.pk)
    expected = RETIRED_EXPECTED[role] if state in ("enabled", "locked") else set()
    for action in ACTIONS:
        assert CHECKS[action](user, retired) is (action in expected), (role, visibility, state, action)
    assert policy.allowed_actions(user, retired) == expected
    assert Namespace.objects.visible_to(user).filter(pk=retired.pk).exists() is ("pull" in expected)
    for manage in (policy.can_manage_namespace, policy.can_destroy_namespace, policy.can_change_visibility):
        assert not manage(user, retired), (role, manage.__name__)
    is_admin = role == "admin" and state in ("enabled", "locked")
    assert policy.can_release_namespace(user, retired) is is_admin
    assert policy.can_purge_namespace(user, retired) is is_admin


def test_retired_namespace_is_purged_only_with_deletes_on(actors, retired, options):
    options.set("delete.enabled", False)
    assert policy.allowed_actions(actors["admin"], retired) == {"pull"}
    assert policy.can_release_namespace(actors["admin"], retired)
    assert not policy.can_purge_namespace(actors["admin"], retired)


def test_the_internal_account_reads_and_purges_a_retired_namespace(retired, internal_account, options):
    options.set("delete.enabled", True)
    assert policy.allowed_actions(internal_account, retired) == {"pull", "delete"}


def test_current_namespaces_are_neither_released_nor_purged(actors, namespace, options):
    options.set("delete.enabled", True)
    for role in ROLES:
        assert not policy.can_release_namespace(actors[role], namespace), role
        assert not policy.can_purge_namespace(actors[role], namespace), role
