"""THE permission policy: every door (token endpoint, UI, API) asks these functions and nothing else.

Rules (Portus's, made explicit):
- A disabled account may do nothing. A lock (too many wrong passwords) only refuses password logins
  (accounts/credentials.py): it is not an account state here, so a stranger's guesses cannot switch
  off an account's tokens, sessions or the internal account's work.
- Anonymous visitors may only pull from public namespaces, and only while `anonymous_browsing.enabled`
  is on: the option governs every anonymous door (the web pages, the API, the token endpoint), so an
  admin who turns it off has an instance that gives strangers nothing — an anonymous token then
  carries no access at all.
- Admins (and the internal `portus` account, which is an admin) may pull, push and manage everything;
  they may delete when `delete.enabled` is on.
- Pull: members of the namespace's team (any role); any signed-in user for protected and public
  namespaces; anyone for public ones.
- Push: never into a registry's global namespace unless admin. `user_permission.push_images.policy`:
  `allow-teams`   owners and contributors of the namespace's team (a personal namespace's owner is the
                  owner of its hidden team);
  `allow-personal` only the owner of a personal namespace;
  `admin-only`    nobody but admins.
- Delete (images and tags): only with `delete.enabled`; owners, and contributors when
  `delete.contributors` is on.
- Manage a namespace (description, team, deletion): owners when `user_permission.manage_namespace`;
  its outbound webhooks: those who manage it, when `user_permission.manage_webhook` (and, to add one,
  `user_permission.create_webhook`);
  change its visibility: owners when `user_permission.change_visibility`. Personal and global
  namespaces cannot be deleted, renamed or moved to another team; moving one into a team is like creating
  one there. A namespace an admin's push created (held in the admin's personal team) is not personal.
- Teams: anyone signed in (not a bot) may create one when `user_permission.create_team`; owners manage
  theirs when `user_permission.manage_team`. Namespaces are created by a team's owners and contributors
  when `user_permission.create_namespace`.
- Retired namespaces (deleted, or of a deleted user, while images may remain under their name): admins
  may pull, and delete when `delete.enabled` is on; nobody else may do anything, nobody may push, and no
  one edits them. Admins release them (free the name once the registry holds nothing under it) or purge
  them (delete their images in the registry, then free the name; needs `delete.enabled`).
Admins are not limited by the `user_permission.*` options.
- Robots (accounts/robots.py) are bots named `robot$…`. A namespace's robot acts in its namespace only
  (and pulls public images): its role there comes from the namespace's team or from grants; it is
  disabled while its namespace is retired. An instance robot is like any bot.
- Per-repository grants (grants/): beside team roles, a user, a team (its members) or a robot gets
  `pull`, `push` (pull and push) or `admin` (also delete, with `delete.enabled`, and edit the
  description) on one repository or a name pattern of a namespace. A grantee sees the granted
  repositories and nothing else of that namespace. Grants never apply in retired namespaces, and a
  `push`/`admin` grant pushes only where the push policy is not `admin-only` and the namespace is not
  a registry's global one.
"""

from __future__ import annotations

from django.db.models import Q

# Who is asking (namespaces/actors.py), re-exported: every caller asks this module.
from namespaces.actors import (  # noqa: F401
    _robot_elsewhere,
    anonymous_allowed,
    forget_roles,
    is_active,
    is_admin,
    is_anonymous,
    team_role,
    team_roles,
)

# The namespace-level rules (namespaces/namespace_rules.py), re-exported: every caller asks this module.
from namespaces.namespace_rules import (  # noqa: F401
    DELETE,
    PULL,
    PUSH,
    actions_without_namespace,
    allowed_actions,
    can_change_visibility,
    can_create_namespace,
    can_create_webhook,
    can_delete,
    can_destroy_namespace,
    can_manage_namespace,
    can_manage_retention,
    can_manage_signing_keys,
    can_manage_webhooks,
    can_move_namespace,
    can_pull,
    can_purge_namespace,
    can_push,
    can_release_namespace,
    can_rename_namespace,
    pullable_namespaces_q,
    retention_namespaces_q,
)
from portus.options import option
from teams.models import Role

# --- what the pages show a namespace's visitor --------------------------------------------------


def namespace_permissions(user, namespace) -> dict[str, bool]:
    """What the user may do here, for the UI and the API's `permissions` field."""
    return {
        PULL: can_pull(user, namespace),
        PUSH: can_push(user, namespace),
        DELETE: can_delete(user, namespace),
        "manage": can_manage_namespace(user, namespace),
        "destroy": can_destroy_namespace(user, namespace),
        "change_visibility": can_change_visibility(user, namespace),
        "webhooks": can_manage_webhooks(user, namespace),
        "robots": can_create_robot(user, namespace),
        "grants": can_manage_grants(user, namespace),
        "release": can_release_namespace(user, namespace),
        "purge": can_purge_namespace(user, namespace),
        "retention": can_manage_retention(user, namespace),
    }


# --- per-repository grants ------------------------------------------------------------------------


def repository_grants(user) -> list[tuple[int, str, str]]:
    """(namespace id, pattern, permission) of every grant to the user or their teams, in namespaces that
    are not retired; read once per user object (one query)."""
    grants = getattr(user, "_portus_grants", None)
    if grants is None:
        from grants.models import RepositoryGrant
        from teams.models import TeamMember

        teams = TeamMember.objects.filter(user_id=user.pk).values("team_id")
        grants = list(RepositoryGrant.objects.filter(Q(user_id=user.pk) | Q(team_id__in=teams),
                                                     namespace__retired_at__isnull=True)
                      .values_list("namespace_id", "pattern", "permission"))
        user._portus_grants = grants
    return grants


def forget_grants(user) -> None:
    """Drops the memo after a grant change in the same request."""
    if hasattr(user, "_portus_grants"):
        del user._portus_grants


def granted_permission(user, namespace, repository_name: str) -> str | None:
    """The strongest grant the user holds on this repository of `namespace`: pull, push, admin or None."""
    from grants.models import RANK
    from grants.patterns import matches

    if not is_active(user) or namespace.retired_at is not None or _robot_elsewhere(user, namespace):
        return None
    best, best_rank = None, 0
    for namespace_id, pattern, permission in repository_grants(user):
        if namespace_id == namespace.pk and RANK.get(permission, 0) > best_rank and matches(pattern, repository_name):
            best, best_rank = permission, RANK[permission]
    return best


def _grant_may_push(user, namespace) -> bool:
    return not namespace.is_global and (user.admin or option("user_permission.push_images.policy") != "admin-only")


def repository_actions(user, namespace, repository_name: str, wanted: set[str] | None = None) -> set[str]:
    """The registry actions on one repository: the namespace's, and what grants add. With `wanted`,
    grants are not read when the namespace's answer covers it already (the token endpoint's common case
    costs no query more)."""
    actions = allowed_actions(user, namespace)
    if actions >= {PULL, PUSH, DELETE} or (wanted is not None and actions >= wanted):
        return actions
    permission = granted_permission(user, namespace, repository_name)
    if permission is None:
        return actions
    actions.add(PULL)
    if permission in ("push", "admin") and _grant_may_push(user, namespace):
        actions.add(PUSH)
    if permission == "admin" and option("delete.enabled"):
        actions.add(DELETE)
    return actions


def can_pull_repository(user, namespace, repository_name: str) -> bool:
    return can_pull(user, namespace) or granted_permission(user, namespace, repository_name) is not None


def can_push_repository(user, namespace, repository_name: str) -> bool:
    return PUSH in repository_actions(user, namespace, repository_name)


def can_delete_repository(user, namespace, repository_name: str) -> bool:
    """Delete images and tags of this repository."""
    return DELETE in repository_actions(user, namespace, repository_name)


def repository_permissions(user, repository) -> dict[str, bool]:
    """`namespace_permissions` for a repository's page: pull, push and delete as grants make them."""
    permissions = namespace_permissions(user, repository.namespace)
    if not (permissions[PULL] and permissions[PUSH] and (permissions[DELETE] or not option("delete.enabled"))):
        actions = repository_actions(user, repository.namespace, repository.name)
        permissions.update({PULL: PULL in actions, PUSH: PUSH in actions, DELETE: DELETE in actions})
    return permissions


def can_see_namespace(user, namespace) -> bool:
    """May open the namespace's page: may pull there, or holds a grant on some repository of it."""
    if can_pull(user, namespace):
        return True
    if not is_active(user) or namespace.retired_at is not None or _robot_elsewhere(user, namespace):
        return False
    return any(namespace_id == namespace.pk for namespace_id, _, _ in repository_grants(user))


def _my_grants(user):
    """The grants that reach the user (their own and their teams'), in namespaces not retired; a robot's only
    in its own namespace."""
    from grants.models import RepositoryGrant
    from teams.models import TeamMember

    teams = TeamMember.objects.filter(user_id=user.pk).values("team_id")
    mine = RepositoryGrant.objects.filter(Q(user_id=user.pk) | Q(team_id__in=teams), namespace__retired_at__isnull=True)
    if getattr(user, "robot_namespace_id", None) is not None:
        mine = mine.filter(namespace_id=user.robot_namespace_id)
    return mine


def granted_repositories_q(user, prefix: str = "") -> Q:
    """A filter selecting the repositories (`prefix` leads to one) that grants let the user pull; with
    `pullable_namespaces_q(user, prefix + "namespace__")` it is exactly what `can_pull_repository` allows."""
    from django.db.models import Exists, F, OuterRef

    from grants.models import Like

    if not is_active(user):
        return Q(pk__in=[])
    mine = _my_grants(user)
    grants = mine.filter(Like(OuterRef(f"{prefix}name"), F("like_pattern")),
                         namespace_id=OuterRef(f"{prefix}namespace_id"))
    # The namespaces holding one of the user's grants: an uncorrelated subquery the planner runs once (hashed),
    # so the per-row EXISTS runs only for repositories in those namespaces, not for every row a list counts or
    # skips. The rows selected are the same: the EXISTS implies the namespace is among them.
    return Q(**{f"{prefix}namespace_id__in": mine.values("namespace_id")}) & Q(Exists(grants))


def visible_repositories_q(user, prefix: str = "") -> Q:
    """Every repository the user may pull: through its namespace or through a grant."""
    namespace_q = pullable_namespaces_q(user, prefix=f"{prefix}namespace__")
    if is_anonymous(user) or not is_active(user) or (user.admin and getattr(user, "robot_namespace_id", None) is None):
        return namespace_q
    return namespace_q | granted_repositories_q(user, prefix)


def _granted_ids_q(user, prefix: str = "") -> Q:
    """`granted_repositories_q` as one uncorrelated subquery on the repository's id (the repositories of the
    namespaces holding one of the user's grants, each matched against them): the planner runs it once and
    probes its hash per row, instead of running an EXISTS for each row a list counts or skips."""
    from django.db.models import Exists, F, OuterRef

    from grants.models import Like
    from namespaces.models import Repository

    if not is_active(user):
        return Q(pk__in=[])
    mine = _my_grants(user)
    grants = mine.filter(Like(OuterRef("name"), F("like_pattern")), namespace_id=OuterRef("namespace_id"))
    granted = Repository.objects.filter(namespace_id__in=mine.values("namespace_id")).filter(Exists(grants))
    return Q(**{f"{prefix}pk__in": granted.values("pk")})


def _sees_all_or_none(user) -> bool:
    """Whether `visible_repositories_q` is a filter of its own kind for this user (nobody's, or an admin's:
    every repository), with no grants to write otherwise."""
    if is_anonymous(user) or not is_active(user):
        return True
    return user.admin and getattr(user, "robot_namespace_id", None) is None


def walkable_repositories_q(user) -> Q:
    """The rows of `visible_repositories_q`, written on the repository's own columns (its namespace among the
    pullable ones, or its id among the granted ones: one hashed look-up each per row, no join to filter), for
    a list ordered by an index of the repositories (the API's): it walks that index and stops at its page
    instead of joining and sorting every repository the user may pull."""
    if _sees_all_or_none(user):
        return visible_repositories_q(user)
    from namespaces.models import Namespace

    pullable = Namespace.objects.filter(pullable_namespaces_q(user)).values("pk")
    return Q(namespace_id__in=pullable) | _granted_ids_q(user)


def listed_repositories_q(user) -> Q:
    """The rows of `visible_repositories_q`, for a list ordered by namespace (the UI's): the user's grants are
    read first (one query, kept for the request); without any, the namespace branch alone, as a join, so that
    the list walks the namespaces' index in order and stops at its page instead of sorting every repository."""
    if _sees_all_or_none(user):
        return visible_repositories_q(user)
    if not repository_grants(user):
        return pullable_namespaces_q(user, prefix="namespace__")
    return walkable_repositories_q(user)


def split_listed_repositories_q(user) -> tuple[Q, Q] | None:
    """For a user holding grants, `listed_repositories_q` as two disjoint filters: the repositories of the
    namespaces they may pull (a join a list ordered by namespace walks in order) and the granted ones beyond
    those (few); None for everyone else (whose listed_repositories_q is the namespace branch alone, or all)."""
    if _sees_all_or_none(user) or getattr(user, "robot_namespace_id", None) is not None:
        return None
    if not repository_grants(user):
        return None
    pullable = pullable_namespaces_q(user, prefix="namespace__")
    return pullable, _granted_ids_q(user) & ~pullable


def visible_namespaces_q(user, prefix: str = "") -> Q:
    """The namespaces the user may open: pullable ones, and those holding a repository granted to them."""
    from grants.models import RepositoryGrant
    from teams.models import TeamMember

    namespace_q = pullable_namespaces_q(user, prefix)
    if is_anonymous(user) or not is_active(user) or (user.admin and getattr(user, "robot_namespace_id", None) is None):
        return namespace_q
    teams = TeamMember.objects.filter(user_id=user.pk).values("team_id")
    granted = RepositoryGrant.objects.filter(Q(user_id=user.pk) | Q(team_id__in=teams),
                                             namespace__retired_at__isnull=True)
    if getattr(user, "robot_namespace_id", None) is not None:
        granted = granted.filter(namespace_id=user.robot_namespace_id)
    return namespace_q | Q(**{f"{prefix}pk__in": granted.values("namespace_id")})


# --- teams --------------------------------------------------------------------------------------


def can_view_team(user, team) -> bool:
    if not is_active(user):
        return False
    return user.admin or team_role(user, team.pk) is not None


def can_create_team(user) -> bool:
    if not is_active(user):
        return False
    return user.admin or (not user.bot and bool(option("user_permission.create_team.enabled")))


def can_manage_team(user, team) -> bool:
    """Rename, describe, add and remove members, delete."""
    if not is_active(user) or team.hidden:
        return False
    if user.admin:
        return True
    return bool(option("user_permission.manage_team.enabled")) and team_role(user, team.pk) == Role.OWNER


# --- repositories and comments ------------------------------------------------------------------


def can_comment(user, repository) -> bool:
    return is_active(user) and can_pull_repository(user, repository.namespace, repository.name)


def can_destroy_comment(user, comment) -> bool:
    return is_active(user) and (user.admin or comment.author_id == user.pk)


def can_edit_repository(user, repository) -> bool:
    """The description of a repository: whoever may push to its namespace (by role, or as an admin), and
    the holders of an `admin` grant on it; a `push` grant pushes images and no more (README, grants)."""
    namespace = repository.namespace
    if can_push(user, namespace):
        return True
    return (granted_permission(user, namespace, repository.name) == "admin"
            and _grant_may_push(user, namespace))


# --- users --------------------------------------------------------------------------------------


def can_manage_users(user) -> bool:
    return is_admin(user)


def can_see_user(user, other) -> bool:
    """May open another account's activity page: oneself, admins, and members of a team `other` is in
    too (they see each other on the team's page already). What the page lists is still only what
    `user` may see (Activity.objects.visible_to)."""
    from teams.models import TeamMember

    if not is_active(user) or other is None:
        return False
    if user.admin or user.pk == other.pk:
        return True
    if other.is_internal:
        return False
    mine = list(team_roles(user))
    return bool(mine) and TeamMember.objects.filter(user_id=other.pk, team_id__in=mine, team__hidden=False).exists()


def can_manage_tokens_of(user, owner) -> bool:
    """Application tokens: one's own, any user's for an admin (bots have no login of their own), and a
    namespace robot's for whoever manages its namespace. A robot manages none, not even its own: its
    credentials are given and taken by its managers, so a leaked robot token cannot mint another one that
    outlives its revocation."""
    if not is_active(user) or user.is_robot:
        return False
    if user.admin or user.pk == owner.pk:
        return True
    return owner.is_robot and owner.robot_namespace_id is not None and can_manage_robot(user, owner)


# --- robots ---------------------------------------------------------------------------------------


def can_create_robot(user, namespace=None) -> bool:
    """Instance robots: admins. A namespace's robots: whoever manages the namespace (not a registry's
    global namespace, which only admins push to)."""
    if namespace is None:
        return is_admin(user)
    return not namespace.is_global and can_manage_namespace(user, namespace)


def can_manage_robot(user, robot) -> bool:
    """Disable, delete, give tokens to, grant to a robot."""
    if robot.robot_namespace_id is None:
        return is_admin(user)
    return is_admin(user) or can_manage_namespace(user, robot.robot_namespace)


def can_manage_grants(user, namespace) -> bool:
    """Give, change and take away per-repository grants in the namespace."""
    return can_manage_namespace(user, namespace) and not namespace.is_global


def can_use_ui(user) -> bool:
    """Bots, robots and the internal account authenticate to the registry and the API only."""
    return is_active(user) and not user.bot and not user.is_internal



def can_manage_trust_policies(user, robot) -> bool:
    """Which CI issuers a robot trusts for keyless logins (federation/): for a namespace's robot, whoever
    manages the robot (the namespace's owners, admins); for other bots, admins. The issuers to choose
    from are the admins' (`keyless.issuers`), and such a login gets no more than the robot's rights."""
    if robot is None or not robot.bot or robot.is_internal:
        return False
    if robot.is_robot and robot.robot_namespace_id is not None:
        return can_manage_robot(user, robot)
    return is_admin(user)
