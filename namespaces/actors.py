"""Who is asking: whether an actor is signed in and enabled, an admin, anonymous, and their team roles.

The facts every rule of the one policy (namespaces/policy.py) starts from; the rules themselves, and the
reasons behind them, are there. Read once per user object and request (the roles are memoised)."""

from __future__ import annotations

from portus.options import option


def is_active(user) -> bool:
    """Signed in and enabled (a lock refuses password logins only, see the module's rules); a
    namespace's robot also needs its namespace to stand (not retired)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not user.enabled:
        return False
    if getattr(user, "robot_namespace_id", None) is not None:
        return user.robot_namespace.retired_at is None
    return True


def _robot_elsewhere(user, namespace) -> bool:
    """A namespace's robot, asked about another namespace: it has nothing there but what anyone has."""
    own = getattr(user, "robot_namespace_id", None)
    return own is not None and own != namespace.pk


def is_admin(user) -> bool:
    return is_active(user) and bool(user.admin)


def team_roles(user) -> dict[int, str]:
    """team id → role for every team the user belongs to; read once per user object."""
    roles = getattr(user, "_portus_team_roles", None)
    if roles is None:
        # Every token request asks this: one plain statement, without TeamMember's ordering (by user
        # name, a join that roles do not need) or the ORM's compiling.
        from django.db import connection

        from portus.prepared import execute

        with connection.cursor() as cursor:
            execute(cursor, _roles_sql(connection), [user.pk])
            roles = dict(cursor.fetchall())
        user._portus_team_roles = roles
    return roles


def _roles_sql(connection) -> str:
    from teams.models import TeamMember

    quote, meta = connection.ops.quote_name, TeamMember._meta
    team, role, member = (quote(meta.get_field(name).column) for name in ("team", "role", "user"))
    return f"SELECT {team}, {role} FROM {quote(meta.db_table)} WHERE {member} = %s"  # noqa: S608 - names from meta


def forget_roles(user) -> None:
    """Drops the memo after a membership change in the same request."""
    if hasattr(user, "_portus_team_roles"):
        del user._portus_team_roles


def team_role(user, team_id: int | None) -> str | None:
    if not is_active(user) or team_id is None:
        return None
    return team_roles(user).get(team_id)


def is_anonymous(user) -> bool:
    return user is None or not getattr(user, "is_authenticated", False)


def anonymous_allowed() -> bool:
    """Whether logged-out visitors get anything at all (`anonymous_browsing.enabled`)."""
    return bool(option("anonymous_browsing.enabled"))
