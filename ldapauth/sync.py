"""LDAP group sync: a team named like a group (the cn that starts the group's DN, compared without regard
to case) gets the group's members, nested groups included; members the sync added leave with the group.

Only accounts that already signed in once are known (the first sign-in creates the account, and adds
it to its teams there and then). A member gets `ldap.group_sync.default_role`; a role changed by hand
afterwards stays. Removal touches only memberships the sync made (LdapTeamMembership), never a member
added by hand, and never a team's last owner. `ldap.admin_base` is applied the same way: admin rights
given and taken (never the last enabled admin's).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import ldap
import ldap.dn
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from activities.services import activity_record
from ldapauth import directory
from ldapauth.models import LdapAccount, LdapSyncState, LdapTeamMembership
from namespaces import policy
from portus.options import option
from teams.models import Role, Team, TeamMember

log = logging.getLogger("ldapauth")

# Nesting deeper than this is a loop or a mistake: the walk stops there (each group is visited once anyway).
MAX_NESTING = 32


def group_name(dn: str) -> str:
    """The cn that starts a group's DN, lowercased ("" when the DN does not start with one)."""
    try:
        first = ldap.dn.str2dn(dn)[0]
    except (ldap.DECODING_ERROR, IndexError):
        return ""
    return next((value.lower() for kind, value, _ in first if kind.lower() == "cn"), "")


@dataclass
class Report:
    outcome: str = "ok"
    groups: int = 0
    teams: int = 0
    added: int = 0
    removed: int = 0
    admins_granted: int = 0
    admins_revoked: int = 0
    disabled: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.groups} groups, {self.teams} teams matched, {self.added} members added, "
                f"{self.removed} removed, {self.admins_granted} admins granted, {self.admins_revoked} revoked, "
                f"{self.disabled} departed accounts disabled")
        return text + ("; " + "; ".join(self.notes[:5]) if self.notes else "")


class Groups:
    """Every group under `group_base` with its members (lowercased DNs), and the nested walk."""

    def __init__(self, entries: Iterable[tuple[str, dict]]) -> None:
        self.members: dict[str, list[str]] = {}
        for dn, attrs in entries:
            self.members[dn.lower()] = [m.lower() for m in directory.text_values(attrs, "member")]
        self.by_name: dict[str, list[str]] = {}
        for dn in self.members:
            if name := group_name(dn):
                self.by_name.setdefault(name, []).append(dn)

    def users_of(self, group_dn: str) -> set[str]:
        """The member DNs that are not groups, through nested groups, each group visited once."""
        users: set[str] = set()
        seen: set[str] = set()
        level = [group_dn.lower()]
        for _ in range(MAX_NESTING):
            following = []
            for dn in level:
                if dn in seen or dn not in self.members:
                    continue
                seen.add(dn)
                for member in self.members[dn]:
                    if member in self.members:
                        following.append(member)
                    else:
                        users.add(member)
            if not following:
                break
            level = following
        return users


def _member_add(*, team: Team, user: User, group_dn: str) -> bool:
    role = option("ldap.group_sync.default_role")
    if TeamMember.objects.filter(team=team, user=user).exists() or user.is_internal:
        return False
    TeamMember.objects.create(team=team, user=user, role=role)
    LdapTeamMembership.objects.update_or_create(team=team, user=user, defaults={"group_dn": group_dn[:1024]})
    policy.forget_roles(user)
    activity_record(key="team.ldap_add_member", target=team, team=team,
                    parameters={"user": user.username, "role": role, "group": group_dn[:512]})
    return True


def memberships_add_for_user(*, user: User, group_dns: Iterable[str]) -> int:
    """At sign-in: the teams named like the user's groups (django-auth-ldap found them, nested ones
    included) get the user. Additions only (see ldapauth/accounts.py::after_bind)."""
    names = {}
    for dn in group_dns:
        if name := group_name(dn):
            names.setdefault(name, dn)
    if not names:
        return 0
    added = 0
    teams = [t for t in Team.objects.filter(hidden=False) if t.name.lower() in names]
    for team in teams:
        with transaction.atomic():
            added += _member_add(team=team, user=user, group_dn=names[team.name.lower()])
    return added


def _team_apply(*, team: Team, wanted: dict[int, User], group_dn: str, report: Report) -> None:
    with transaction.atomic():
        current = set(TeamMember.objects.filter(team=team).values_list("user_id", flat=True))
        made = {m.user_id: m for m in LdapTeamMembership.objects.filter(team=team).select_related("user")}
        for user_id, record in made.items():
            if user_id not in current:  # removed by hand since: the record goes, the sync may add again
                record.delete()
        for user_id, user in wanted.items():
            if user_id not in current and _member_add(team=team, user=user, group_dn=group_dn):
                report.added += 1
        for user_id, record in made.items():
            if user_id in wanted or user_id not in current:
                continue
            member = TeamMember.objects.filter(team=team, user_id=user_id).first()
            if member.role == Role.OWNER and not TeamMember.objects.filter(team=team, role=Role.OWNER).exclude(
                    pk=member.pk).exists():
                report.notes.append(f"{record.user.username} stays in {team.name}: its last owner")
                continue
            member.delete()
            record.delete()
            policy.forget_roles(record.user)
            activity_record(key="team.ldap_remove_member", target=team, team=team,
                            parameters={"user": record.user.username, "group": record.group_dn[:512]})
            report.removed += 1
        Team.objects.filter(pk=team.pk).update(ldap_group_checked_at=timezone.now())


def _admins_apply(*, conn, groups: Groups, accounts: dict[str, User], report: Report) -> None:
    from ldapauth.accounts import admin_set

    base = option("ldap.admin_base").strip().lower()
    if not base:
        return
    if base in groups.members:
        admins = groups.users_of(base)
    else:
        admins = {dn.lower() for dn, _ in directory.search(conn, base, "(objectClass=*)", ["1.1"])}
    for dn, user in accounts.items():
        should = dn in admins or dn.endswith("," + base)
        if user.admin != should and admin_set(user=user, admin=should, reason="admin_base"):
            if should:
                report.admins_granted += 1
            else:
                report.admins_revoked += 1


def _departed(conn, accounts: dict[str, User]) -> list[User]:
    """The enabled accounts whose entry the directory no longer has (or that no longer match
    `ldap.filter`): each DN looked up on its own, so a directory of any size answers exactly. Empty when
    none of several accounts is found: a search account that lost its rights, or a wrong `base`, looks
    like that, and disabling everyone is never the right answer to it."""
    enabled = {dn: user for dn, user in accounts.items() if user.enabled and not user.is_internal}
    if not enabled:
        return []
    gone = [user for dn, user in enabled.items()
            if not directory.search(conn, dn, directory.account_filter(), ["1.1"], scope=ldap.SCOPE_BASE)]
    if len(gone) == len(enabled) > 1:
        raise _NoneFound(len(gone))
    return gone


class _NoneFound(Exception):
    pass


def _departed_apply(*, conn, accounts: dict[str, User], report: Report) -> None:
    from accounts.services import user_update

    if not option("ldap.disable_departed"):
        return
    try:
        gone = _departed(conn, accounts)
    except _NoneFound as exc:
        report.notes.append(f"none of the {exc.args[0]} accounts was found in the directory: nobody disabled")
        return
    for user in gone:
        try:
            user_update(user=user, by=None, enabled=False, enabled_key="user.ldap_disable")
        except ValidationError as exc:  # the last enabled admin stays, and says so
            report.notes.append(f"{user.username} stays enabled: {'; '.join(exc.messages)}")
            continue
        report.disabled += 1


def groups_sync() -> Report:
    """One full run. DirectoryUnavailable (the server, or a search, failed) changes nothing."""
    report = Report()
    conn = directory.service_connection()
    try:
        groups = Groups(directory.search(conn, directory.group_base(), directory.GROUP_FILTER, ["member"]))
        report.groups = len(groups.members)
        accounts = {a.dn: a.user for a in LdapAccount.objects.select_related("user")}
        _admins_apply(conn=conn, groups=groups, accounts=accounts, report=report)
        _departed_apply(conn=conn, accounts=accounts, report=report)
    finally:
        conn.unbind_s()
    if not option("ldap.group_sync.enabled"):
        return report
    if not groups.members:
        # A directory that has no group at all more likely answered wrong than lost them all.
        report.notes.append("no group found under group_base: nothing removed")
        return report
    for team in Team.objects.filter(hidden=False):
        dns = groups.by_name.get(team.name.lower())
        if not dns:
            wanted: dict[int, User] = {}
            group_dn = ""
        else:
            report.teams += 1
            members = set().union(*(groups.users_of(dn) for dn in dns))
            wanted = {accounts[dn].pk: accounts[dn] for dn in members if dn in accounts}
            group_dn = dns[0]
        if dns or LdapTeamMembership.objects.filter(team=team).exists():
            _team_apply(team=team, wanted=wanted, group_dn=group_dn, report=report)
    return report


def _claim(holder: str, *, force: bool) -> bool:
    """Takes the sync for `holder` when it is due and nobody else holds it."""
    now = timezone.now()
    with transaction.atomic():
        state, _ = LdapSyncState.objects.select_for_update().get_or_create(pk=1)
        if state.lease_until and state.lease_until > now and state.holder != holder:
            return False
        interval = timedelta(seconds=option("ldap.group_sync.interval"))
        if not force and not state.requested_at and state.last_run_at and now - state.last_run_at < interval:
            return False
        # A request made while this run goes on is kept for the next one.
        state.holder, state.lease_until, state.requested_at = holder[:200], now + timedelta(minutes=10), None
        state.save(update_fields=["holder", "lease_until", "requested_at"])
    return True


def run_soon() -> None:
    """Asks for a run at the background's next turn (`POST /api/v1/teams/:id/ldap_check`), whatever the
    interval says."""
    with transaction.atomic():
        LdapSyncState.objects.select_for_update().get_or_create(pk=1)
        LdapSyncState.objects.filter(pk=1).update(requested_at=timezone.now())


def run_due(*, holder: str, force: bool = False) -> Report | None:
    """The sync when it is due (`ldap.group_sync.interval`) and this process got it; None otherwise."""
    if not option("ldap.enabled"):
        return None
    if not (option("ldap.group_sync.enabled") or option("ldap.admin_base").strip()
            or option("ldap.disable_departed")):
        return None
    if not _claim(holder, force=force):
        return None
    try:
        report = groups_sync()
    except directory.DirectoryUnavailable as exc:
        report = Report(outcome="failed", notes=[str(exc)])
        log.warning("LDAP group sync failed: %s", exc)
    except Exception as exc:  # keep the lease honest, then let the loop log it
        LdapSyncState.objects.filter(pk=1).update(lease_until=None, last_run_at=timezone.now(),
                                                  last_outcome="failed", last_summary=type(exc).__name__)
        raise
    LdapSyncState.objects.filter(pk=1).update(lease_until=None, last_run_at=timezone.now(),
                                              last_outcome=report.outcome, last_summary=report.summary()[:2000])
    if report.added or report.removed or report.admins_granted or report.admins_revoked or report.disabled:
        log.info("LDAP group sync: %s", report.summary())
    return report
