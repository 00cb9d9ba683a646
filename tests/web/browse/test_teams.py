"""Team pages: list, show, create, edit, members (add, role, remove, suggestions), delete."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teams.models import Role, Team, TeamMember
from teams.services import team_member_add

pytestmark = pytest.mark.django_db


# --- list and show ----------------------------------------------------------------------------------


def test_member_sees_their_team_with_role_and_counts(client_of, viewer, namespace):
    html = client_of(viewer).get("/teams").content.decode()
    assert f'href="/teams/{namespace.team_id}"' in html
    assert "Viewer" in html


def test_outsider_does_not_see_the_team_in_list(client_of, outsider, team):
    assert f'href="/teams/{team.pk}"' not in client_of(outsider).get("/teams").content.decode()


def test_admin_sees_every_team_but_no_hidden_ones(client_of, admin, team, owner):
    html = client_of(admin).get("/teams").content.decode()
    assert f'href="/teams/{team.pk}"' in html
    assert "personal/" not in html


def test_team_page_lists_members_with_roles_and_namespaces(client_of, viewer, team, namespace):
    html = client_of(viewer).get(f"/teams/{team.pk}").content.decode()
    for username in ("olivia", "carl", "vera", "ci-bot"):
        assert username in html
    assert "Contributor" in html and "Owner" in html
    assert f'href="/namespaces/{namespace.pk}"' in html
    assert "team-member-add" not in html and "/members" not in html  # no management for a viewer


def test_outsider_gets_404_for_team(client_of, outsider, team):
    assert client_of(outsider).get(f"/teams/{team.pk}").status_code == 404


def test_personal_team_is_404_even_for_its_owner(client_of, owner):
    personal = Team.objects.get(personal_of=owner)
    assert client_of(owner).get(f"/teams/{personal.pk}").status_code == 404


def test_teams_require_sign_in(client_of, team):
    assert client_of(None).get(f"/teams/{team.pk}").status_code == 302


# --- create and edit --------------------------------------------------------------------------------


def test_user_creates_a_team_and_owns_it(client_of, outsider):
    response = client_of(outsider).post("/teams/new", {"name": "newcomers", "description": "Hi"})
    team = Team.objects.get(name="newcomers")
    assert response.status_code == 302 and response["Location"] == f"/teams/{team.pk}"
    assert team.members.get().user == outsider and team.members.get().role == Role.OWNER


def test_team_creation_disabled_by_option(client_of, outsider, options):
    options.set("user_permission.create_team.enabled", False)
    assert client_of(outsider).post("/teams/new", {"name": "nope"}).status_code == 403
    assert not Team.objects.filter(name="nope").exists()


def test_duplicate_team_name_is_refused_on_the_form(client_of, outsider, team):
    response = client_of(outsider).post("/teams/new", {"name": "QA"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_owner_edits_team(client_of, owner, team):
    client_of(owner).post(f"/teams/{team.pk}/edit", {"name": "quality", "description": "We test."})
    team.refresh_from_db()
    assert (team.name, team.description) == ("quality", "We test.")


def test_contributor_may_not_edit_team(client_of, contributor, team):
    assert client_of(contributor).post(f"/teams/{team.pk}/edit", {"name": "mine"}).status_code == 403
    team.refresh_from_db()
    assert team.name == "qa"


# --- members ----------------------------------------------------------------------------------------


def test_owner_adds_a_member(client_of, owner, team, outsider):
    response = client_of(owner).post(f"/teams/{team.pk}/members", {"username": "oscar", "role": "contributor"})
    assert response.status_code == 302
    assert TeamMember.objects.get(team=team, user=outsider).role == Role.CONTRIBUTOR


def test_adding_an_unknown_user_says_so(client_of, owner, team):
    response = client_of(owner).post(f"/teams/{team.pk}/members", {"username": "nobody", "role": "viewer"},
                                     follow=True)
    assert "There is no user nobody" in response.content.decode()


def test_the_internal_account_cannot_be_added(client_of, owner, team, internal_account):
    response = client_of(owner).post(f"/teams/{team.pk}/members",
                                     {"username": internal_account.username, "role": "viewer"}, follow=True)
    assert not team.members.filter(user=internal_account).exists()
    assert "internal portus account cannot be a team member" in response.content.decode()


def test_viewer_may_not_add_members(client_of, viewer, team, outsider):
    response = client_of(viewer).post(f"/teams/{team.pk}/members", {"username": "oscar", "role": "owner"})
    assert response.status_code == 403
    assert not team.members.filter(user=outsider).exists()


def test_outsider_gets_404_adding_themselves(client_of, outsider, team):
    response = client_of(outsider).post(f"/teams/{team.pk}/members", {"username": "oscar", "role": "owner"})
    assert response.status_code == 404
    assert not team.members.filter(user=outsider).exists()


def test_member_add_needs_post(client_of, owner, team):
    assert client_of(owner).get(f"/teams/{team.pk}/members?username=oscar&role=owner").status_code == 405


def test_owner_changes_a_role(client_of, owner, team, viewer):
    member = team.members.get(user=viewer)
    client_of(owner).post(f"/teams/{team.pk}/members/{member.pk}/role", {"role": "contributor"})
    member.refresh_from_db()
    assert member.role == Role.CONTRIBUTOR


def test_last_owner_cannot_step_down(client_of, owner, team):
    member = team.members.get(user=owner)
    response = client_of(owner).post(f"/teams/{team.pk}/members/{member.pk}/role", {"role": "viewer"}, follow=True)
    member.refresh_from_db()
    assert member.role == Role.OWNER
    assert "at least one owner" in response.content.decode()


def test_contributor_may_not_change_roles(client_of, contributor, team):
    member = team.members.get(user=contributor)
    response = client_of(contributor).post(f"/teams/{team.pk}/members/{member.pk}/role", {"role": "owner"})
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.role == Role.CONTRIBUTOR


def test_member_of_another_team_is_404(client_of, owner, team, outsider):
    from teams.services import team_create

    foreign = team_create(name="foreign", owner=outsider)
    member = foreign.members.get()
    assert client_of(owner).post(f"/teams/{team.pk}/members/{member.pk}/remove").status_code == 404
    assert TeamMember.objects.filter(pk=member.pk).exists()


def test_owner_removes_a_member(client_of, owner, team, viewer):
    member = team.members.get(user=viewer)
    assert client_of(owner).post(f"/teams/{team.pk}/members/{member.pk}/remove").status_code == 302
    assert not TeamMember.objects.filter(pk=member.pk).exists()


def test_viewer_may_not_remove_members(client_of, viewer, team, contributor):
    member = team.members.get(user=contributor)
    assert client_of(viewer).post(f"/teams/{team.pk}/members/{member.pk}/remove").status_code == 403
    assert TeamMember.objects.filter(pk=member.pk).exists()


def test_admin_removing_the_only_member_gets_an_error_not_a_500(client_of, admin, team, owner):
    member = team.members.get(user=owner)
    response = client_of(admin).post(f"/teams/{team.pk}/members/{member.pk}/remove", follow=True)
    assert response.status_code == 200
    assert TeamMember.objects.filter(pk=member.pk).exists()


# --- suggestions ------------------------------------------------------------------------------------


def test_typeahead_suggests_users_who_are_not_members(client_of, owner, team, outsider, admin):
    response = client_of(owner).get(f"/teams/{team.pk}/typeahead", {"q": "o"})
    assert response.status_code == 200
    assert response.json()["usernames"] == ["oscar"]  # olivia is a member already


def test_typeahead_with_empty_query_is_empty(client_of, owner, team):
    assert client_of(owner).get(f"/teams/{team.pk}/typeahead").json() == {"usernames": [], "users": []}


def test_typeahead_is_for_managers_only(client_of, viewer, outsider, team):
    assert client_of(viewer).get(f"/teams/{team.pk}/typeahead", {"q": "o"}).status_code == 403
    assert client_of(outsider).get(f"/teams/{team.pk}/typeahead", {"q": "o"}).status_code == 404


def test_typeahead_leaves_out_disabled_users_and_the_internal_account(client_of, owner, team, outsider,
                                                                       internal_account):
    outsider.enabled = False
    outsider.save()
    names = client_of(owner).get(f"/teams/{team.pk}/typeahead", {"q": "o"}).json()["usernames"]
    assert "oscar" not in names
    assert client_of(owner).get(f"/teams/{team.pk}/typeahead", {"q": "portus"}).json()["usernames"] == []


@pytest.mark.parametrize("typed", ["OSC", "Osc", "oScAr"])
def test_typeahead_ignores_case(client_of, owner, team, outsider, typed):
    assert client_of(owner).get(f"/teams/{team.pk}/typeahead", {"q": typed}).json()["usernames"] == ["oscar"]


def test_typeahead_finds_a_display_name_in_any_case_but_never_an_email(client_of, owner, team, outsider):
    outsider.display_name = "Oscar Wilde"
    outsider.save()
    answer = client_of(owner).get(f"/teams/{team.pk}/typeahead", {"q": "WILDE"}).json()
    assert answer["users"] == [{"username": "oscar", "display_name": "Oscar Wilde"}]
    assert client_of(owner).get(f"/teams/{team.pk}/typeahead", {"q": "example.org"}).json()["usernames"] == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.text(max_size=300))
def test_typeahead_answers_any_text_with_at_most_ten_names(client_of, owner, team, typed):
    response = client_of(owner).get(f"/teams/{team.pk}/typeahead", {"q": typed.replace("\x00", "")})
    assert response.status_code == 200
    assert len(response.json()["usernames"]) <= 10


def test_adding_a_member_ignores_the_case_typed(client_of, owner, team, outsider):
    client_of(owner).post(f"/teams/{team.pk}/members", {"username": "Oscar", "role": "viewer"})
    assert TeamMember.objects.filter(team=team, user=outsider, role="viewer").exists()


# --- delete -----------------------------------------------------------------------------------------


def test_deleting_a_team_moves_its_namespaces(client_of, owner, team, namespace):
    from teams.services import team_create

    heir = team_create(name="heir", owner=owner)
    client = client_of(owner)
    assert client.get(f"/teams/{team.pk}/delete").status_code == 200
    assert Team.objects.filter(pk=team.pk).exists()

    response = client.post(f"/teams/{team.pk}/delete", {"new_team": heir.pk})
    assert response.status_code == 302 and response["Location"] == "/teams"
    assert not Team.objects.filter(pk=team.pk).exists()
    namespace.refresh_from_db()
    assert namespace.team == heir


def test_deleting_a_team_with_namespaces_needs_a_new_team(client_of, owner, team, namespace):
    response = client_of(owner).post(f"/teams/{team.pk}/delete", {})
    assert response.status_code == 200
    assert Team.objects.filter(pk=team.pk).exists()


def test_namespaces_may_not_move_to_a_team_the_owner_does_not_belong_to(client_of, owner, team, namespace,
                                                                         outsider):
    from teams.services import team_create

    foreign = team_create(name="foreign", owner=outsider)
    client_of(owner).post(f"/teams/{team.pk}/delete", {"new_team": foreign.pk})
    assert Team.objects.filter(pk=team.pk).exists()
    namespace.refresh_from_db()
    assert namespace.team == team


def test_namespaces_may_not_move_to_a_team_where_the_owner_only_views(client_of, owner, team, namespace, outsider):
    from teams.services import team_create

    viewed = team_create(name="viewed", owner=outsider)
    team_member_add(team=viewed, user=owner, role=Role.VIEWER, by=outsider)
    client = client_of(owner)
    assert "viewed" not in client.get(f"/teams/{team.pk}/delete").content.decode()
    client.post(f"/teams/{team.pk}/delete", {"new_team": viewed.pk})
    assert Team.objects.filter(pk=team.pk).exists()
    namespace.refresh_from_db()
    assert namespace.team == team


def test_team_without_namespaces_is_deleted_without_a_new_team(client_of, owner):
    from teams.services import team_create

    empty = team_create(name="empty", owner=owner)
    client_of(owner).post(f"/teams/{empty.pk}/delete")
    assert not Team.objects.filter(pk=empty.pk).exists()


def test_contributor_may_not_delete_team(client_of, contributor, team):
    assert client_of(contributor).post(f"/teams/{team.pk}/delete").status_code == 403
    assert Team.objects.filter(pk=team.pk).exists()
