"""The namespace-level rules of the one policy (namespaces/policy.py states them all and re-exports
these): who may pull, push, delete in and manage a namespace, and the querysets of what one may pull.
Callers ask namespaces.policy, never this module."""

from __future__ import annotations

from django.db.models import Q

from namespaces.actors import (
    _robot_elsewhere,
    anonymous_allowed,
    is_active,
    is_admin,
    is_anonymous,
    team_role,
)
from portus.options import option
from teams.models import Role

PULL, PUSH, DELETE = "pull", "push", "delete"


# --- namespaces ---------------------------------------------------------------------------------


def can_pull(user, namespace) -> bool:
    if namespace.retired_at is not None:
        return is_admin(user)
    if is_anonymous(user):
        return namespace.visibility == "public" and anonymous_allowed()
    if not is_active(user):
        return False
    if _robot_elsewhere(user, namespace):
        return namespace.visibility == "public"
    if user.admin or namespace.visibility in ("public", "protected"):
        return True
    return team_role(user, namespace.team_id) is not None


def can_push(user, namespace) -> bool:
    if not is_active(user) or namespace.retired_at is not None or _robot_elsewhere(user, namespace):
        return False
    if user.admin:
        return True
    if namespace.is_global:
        return False
    rule = option("user_permission.push_images.policy")
    if rule == "admin-only":
        return False
    role = team_role(user, namespace.team_id)
    if rule == "allow-personal":
        return role == Role.OWNER and namespace.team.personal_of_id == user.pk
    return role in (Role.OWNER, Role.CONTRIBUTOR)


def can_delete(user, namespace) -> bool:
    """Delete images and tags in the namespace."""
    if not option("delete.enabled") or not is_active(user) or _robot_elsewhere(user, namespace):
        return False
    if user.admin:
        return True
    if namespace.retired_at is not None:
        return False
    role = team_role(user, namespace.team_id)
    if role == Role.OWNER and not namespace.is_global:
        return True
    return role == Role.CONTRIBUTOR and bool(option("delete.contributors")) and not namespace.is_global


def can_manage_namespace(user, namespace) -> bool:
    """Edit the description, move to another team, delete the namespace; its robots and grants."""
    if not is_active(user) or namespace.retired_at is not None or user.is_robot:
        return False
    if user.admin:
        return True
    if namespace.is_global or not option("user_permission.manage_namespace.enabled"):
        return False
    return team_role(user, namespace.team_id) == Role.OWNER


def can_manage_signing_keys(user, namespace) -> bool:
    """Add or remove the cosign public keys the namespace trusts: those who manage the namespace."""
    return can_manage_namespace(user, namespace)
def can_manage_webhooks(user, namespace) -> bool:
    """See, edit, test and delete the namespace's outbound webhooks and their deliveries: whoever manages
    the namespace, while `user_permission.manage_webhook` is on (admins always)."""
    if not can_manage_namespace(user, namespace):
        return False
    return user.admin or bool(option("user_permission.manage_webhook.enabled"))


def can_create_webhook(user, namespace) -> bool:
    """Add a webhook: as can_manage_webhooks, and `user_permission.create_webhook` for non-admins."""
    if not can_manage_webhooks(user, namespace):
        return False
    return user.admin or bool(option("user_permission.create_webhook.enabled"))


def can_destroy_namespace(user, namespace) -> bool:
    if namespace.is_global or namespace.retired_at is not None or namespace.is_personal:
        return False
    return can_manage_namespace(user, namespace)


def can_rename_namespace(user, namespace) -> bool:
    """Give the namespace another name: whoever manages it, not a personal or global one.
    namespace_update also refuses while it holds repositories (the registry stores their images under the
    old name) or robots (their login names carry it)."""
    return can_manage_namespace(user, namespace) and not namespace.is_global and not namespace.is_personal


def can_move_namespace(user, namespace, team) -> bool:
    """Hand the namespace to `team`: whoever manages it, into a team where they may create namespaces.
    Personal and global namespaces stay with their owner (namespace_update refuses them)."""
    return can_manage_namespace(user, namespace) and can_create_namespace(user, team)


def can_change_visibility(user, namespace) -> bool:
    if not is_active(user) or namespace.retired_at is not None or _robot_elsewhere(user, namespace):
        return False
    if user.admin:
        return True
    if namespace.is_global or not option("user_permission.change_visibility.enabled"):
        return False
    return team_role(user, namespace.team_id) == Role.OWNER


def can_create_namespace(user, team) -> bool:
    if not is_active(user):
        return False
    if user.admin:
        return True
    if team.hidden or user.bot or not option("user_permission.create_namespace.enabled"):
        return False
    return team_role(user, team.pk) in (Role.OWNER, Role.CONTRIBUTOR)


def can_release_namespace(user, namespace) -> bool:
    """Free a retired namespace's name (allowed once the registry holds nothing under it)."""
    return is_admin(user) and namespace.retired_at is not None


def can_purge_namespace(user, namespace) -> bool:
    """Delete a retired namespace's images in the registry, then free its name."""
    return can_release_namespace(user, namespace) and bool(option("delete.enabled"))


def can_manage_retention(user, namespace=None) -> bool:
    """Tag retention rules, runs and reports: the instance's (namespace None: every namespace) for admins;
    a namespace's and its repositories' also for the owners of its team. Not in global or retired
    namespaces but for admins. Real runs also need `delete.enabled` (retention/runs.py says so)."""
    if not is_active(user):
        return False
    if user.admin:
        return True
    if namespace is None or namespace.is_global or namespace.retired_at is not None:
        return False
    return team_role(user, namespace.team_id) == Role.OWNER


def retention_namespaces_q(user, prefix: str = "") -> Q:
    """A filter selecting the namespaces whose retention `can_manage_retention` allows (runs, rules)."""
    from teams.models import TeamMember

    if not is_active(user):
        return Q(**{f"{prefix}pk__in": []})
    if user.admin:
        return Q()
    owned = TeamMember.objects.filter(user_id=user.pk, role=Role.OWNER).values("team_id")
    return Q(**{f"{prefix}team_id__in": owned, f"{prefix}is_global": False, f"{prefix}retired_at__isnull": True})


def allowed_actions(user, namespace) -> set[str]:
    """The registry actions granted in the namespace (what goes into a token's `access`)."""
    actions = set()
    if can_pull(user, namespace):
        actions.add(PULL)
    if can_push(user, namespace):
        actions.add(PUSH)
    if can_delete(user, namespace):
        actions.add(DELETE)
    return actions


def actions_without_namespace(user) -> set[str]:
    """Actions on a repository whose namespace does not exist (yet): admins only."""
    if not is_admin(user):
        return set()
    return {PULL, PUSH} | ({DELETE} if option("delete.enabled") else set())


def pullable_namespaces_q(user, prefix: str = "") -> Q:
    """A filter selecting the namespaces `can_pull` allows, for querysets (no rule written twice)."""
    from teams.models import TeamMember

    current = Q(**{f"{prefix}retired_at__isnull": True})
    if is_anonymous(user):
        if not anonymous_allowed():
            return Q(**{f"{prefix}pk__in": []})
        return Q(**{f"{prefix}visibility": "public"}) & current
    if not is_active(user):
        return Q(**{f"{prefix}pk__in": []})
    if user.admin and getattr(user, "robot_namespace_id", None) is None:
        return Q()
    mine = TeamMember.objects.filter(user_id=user.pk).values("team_id")
    if getattr(user, "robot_namespace_id", None) is not None:
        own = Q(**{f"{prefix}pk": user.robot_namespace_id}) & (
            Q(**{f"{prefix}visibility__in": ["public", "protected"]}) | Q(**{f"{prefix}team_id__in": mine}))
        return (Q(**{f"{prefix}visibility": "public"}) | own) & current
    return (Q(**{f"{prefix}visibility__in": ["public", "protected"]}) | Q(**{f"{prefix}team_id__in": mine})) & current
