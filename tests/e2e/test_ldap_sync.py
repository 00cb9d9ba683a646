"""LDAP group sync against a real slapd: teams named like groups get their members through nested
groups, at sign-in and in the background run; members who leave the group leave the team; hand-made
memberships stay; admin_base is applied both ways."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts import credentials
from accounts.models import User
from activities.models import Activity
from ldapauth import sync
from ldapauth.models import LdapSyncState, LdapTeamMembership
from teams.models import Role, Team, TeamMember
from teams.services import team_create, team_member_add
from tests.e2e.support import slapd as seed

pytestmark = pytest.mark.django_db


def sign_in(*uids: str) -> None:
    for uid in uids:
        assert credentials.verify(uid, seed.USERS[uid][0]).ok, uid


def members(team: Team) -> dict[str, str]:
    return dict(TeamMember.objects.filter(team=team).values_list("user__username", "role"))


@pytest.fixture
def developers(directory, owner):
    return team_create(name="developers", owner=owner)


def test_sign_in_adds_to_teams_of_nested_groups(developers, options):
    options.set("ldap.group_sync.default_role", "contributor")
    sign_in("alice", "bob", "erin", "carol")
    assert members(developers) == {"olivia": "owner", "alice": "contributor", "bob": "contributor",
                                   "erin": "contributor"}  # erin: developers ⊃ backend ⊃ deep
    assert Activity.objects.filter(key="team.ldap_add_member", team=developers).count() == 3


def test_background_run_adds_and_removes(developers, directory):
    sign_in("alice", "bob", "erin")
    backend = team_create(name="Backend", owner=User.objects.get(username="olivia"))  # names match without case
    report = sync.run_due(holder="test", force=True)
    assert report.outcome == "ok", report.notes
    assert set(members(backend)) == {"olivia", "bob", "erin"}
    directory.set_members("backend", ["bob"])  # erin's group deep leaves backend
    try:
        report = sync.run_due(holder="test", force=True)
        assert report.removed == 2  # from backend and, through it, from developers
        assert set(members(developers)) == {"olivia", "alice", "bob"}
        assert set(members(backend)) == {"olivia", "bob"}
        assert Activity.objects.filter(key="team.ldap_remove_member", parameters__user="erin").count() == 2
        assert LdapSyncState.objects.get().last_outcome == "ok"
        assert Team.objects.get(pk=backend.pk).ldap_group_checked_at is not None
    finally:
        directory.set_members("backend", ["bob", "cn=deep"])


def test_hand_made_members_and_changed_roles_stay(developers, directory, outsider):
    sign_in("alice")
    team_member_add(team=developers, user=outsider, role=Role.VIEWER, by=User.objects.get(username="olivia"))
    TeamMember.objects.filter(team=developers, user__username="alice").update(role=Role.CONTRIBUTOR)
    sync.run_due(holder="test", force=True)
    assert members(developers)["alice"] == "contributor"
    assert outsider.username in members(developers)
    directory.set_members("developers", ["cn=backend"])
    try:
        sync.run_due(holder="test", force=True)
        assert "alice" not in members(developers)
        assert outsider.username in members(developers)  # not the sync's to remove
    finally:
        directory.set_members("developers", ["alice", "cn=backend"])


def test_a_loop_of_groups_ends(directory, owner):
    loop = team_create(name="loop-a", owner=owner)
    sign_in("frank", "grace")
    sync.run_due(holder="test", force=True)
    assert {"frank", "grace"} <= set(members(loop))


def test_only_accounts_that_signed_in_are_added(developers):
    report = sync.run_due(holder="test", force=True)
    assert report.added == 0 and set(members(developers)) == {"olivia"}


def test_admin_base_granted_and_taken(directory, options, admin):
    options.set("ldap.admin_base", seed.group_dn("ops"))
    sign_in("dave", "carol")
    assert User.objects.get(username="dave").admin
    options.set("ldap.admin_base", seed.group_dn("deep"))
    report = sync.run_due(holder="test", force=True)
    assert report.admins_revoked == 1
    assert not User.objects.get(username="dave").admin
    assert Activity.objects.filter(key="user.ldap_admin_revoke").exists()


def test_not_due_or_held_elsewhere(directory):
    assert sync.run_due(holder="a", force=True) is not None
    assert sync.run_due(holder="a") is None  # ran just now: next in ldap.group_sync.interval
    LdapSyncState.objects.update(holder="b", lease_until="2999-01-01T00:00:00Z")
    assert sync.run_due(holder="a", force=True) is None


def test_directory_down_changes_nothing(developers, directory, options):
    sign_in("alice")
    options.set("ldap.port", directory.tls_port)  # the LDAPS port, spoken to in plain LDAP
    options.set("ldap.timeout", 1)
    report = sync.run_due(holder="test", force=True)
    assert report.outcome == "failed"
    assert "alice" in members(developers)
    assert LdapSyncState.objects.get().last_outcome == "failed"


def test_no_group_at_all_removes_nothing(developers, options):
    sign_in("alice")
    options.set("ldap.group_base", "ou=people," + seed.SUFFIX)  # finds no group there
    report = sync.run_due(holder="test", force=True)
    assert "alice" in members(developers) and report.removed == 0
    assert LdapTeamMembership.objects.filter(team=developers).exists()


def test_portus_background_once_runs_it(developers):
    sign_in("alice")
    out = io.StringIO()
    call_command("portus_background", "--once", "--no-sync", stdout=out)
    assert "LDAP group sync: ok" in out.getvalue()


def test_admin_rights_given_in_portus_are_not_the_directorys_to_take(directory, options, admin):
    from accounts.services import user_update

    options.set("ldap.admin_base", seed.group_dn("ops"))
    sign_in("alice")
    user_update(user=User.objects.get(username="alice"), by=admin, admin=True)
    report = sync.run_due(holder="test", force=True)
    assert report.admins_revoked == 0 and User.objects.get(username="alice").admin


def test_an_account_gone_from_the_directory_is_disabled_with_its_tokens(directory, admin):
    from accounts.services import application_token_create

    sign_in("mallory", "alice")
    mallory = User.objects.get(username="mallory")
    _, secret = application_token_create(user=mallory, application="ci", by=mallory)
    assert credentials.verify("mallory", secret).ok
    directory.remove_user("mallory")
    try:
        report = sync.run_due(holder="test", force=True)
        assert report.outcome == "ok" and report.disabled == 1, report.summary()
        assert not User.objects.get(username="mallory").enabled
        assert User.objects.get(username="alice").enabled
        assert not credentials.verify("mallory", secret).ok  # the token goes with the account
        assert Activity.objects.filter(key="user.ldap_disable", target_name="mallory").count() == 1
        assert sync.run_due(holder="test", force=True).disabled == 0  # once
    finally:
        directory.restore_user("mallory")
    assert sync.run_due(holder="test", force=True).disabled == 0
    assert not User.objects.get(username="mallory").enabled  # an admin enables it again, not the sync


def test_an_account_that_no_longer_matches_the_filter_is_disabled(directory, options):
    sign_in("alice", "bob")
    options.set("ldap.filter", "(!(uid=bob))")
    report = sync.run_due(holder="test", force=True)
    assert report.disabled == 1
    assert not User.objects.get(username="bob").enabled and User.objects.get(username="alice").enabled


def test_nobody_is_disabled_when_no_account_is_found(directory, options):
    sign_in("alice", "bob")
    options.set("ldap.filter", "(uid=nobody-at-all)")  # looks like a search account that lost its rights
    report = sync.run_due(holder="test", force=True)
    assert report.disabled == 0 and "none of the 2 accounts was found" in report.summary()
    assert User.objects.filter(username__in=["alice", "bob"], enabled=True).count() == 2


def test_departed_accounts_stay_when_the_option_is_off(directory, options):
    sign_in("alice", "bob")
    options.set("ldap.disable_departed", False)
    options.set("ldap.filter", "(!(uid=bob))")
    assert sync.run_due(holder="test", force=True).disabled == 0
    assert User.objects.get(username="bob").enabled


def test_the_last_admin_stays_enabled_and_says_so(directory, options):
    options.set("ldap.admin_base", seed.group_dn("ops"))
    sign_in("dave")
    assert User.objects.get(username="dave").admin
    options.set("ldap.admin_base", "")
    options.set("ldap.filter", "(!(uid=dave))")
    report = sync.run_due(holder="test", force=True)
    assert report.disabled == 0 and "dave stays enabled" in report.summary()
    assert User.objects.get(username="dave").enabled


def test_a_team_check_runs_the_sync_at_the_next_turn(developers, directory):
    sign_in("alice")
    assert sync.run_due(holder="bg") is not None
    assert sync.run_due(holder="bg") is None  # not due before ldap.group_sync.interval
    sync.run_soon()
    assert sync.run_due(holder="bg") is not None
    assert sync.run_due(holder="bg") is None  # the request was served once
