"""/admin/teams: every team with its owners, member count and namespaces, for admins, in a fixed number of
queries per page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from teams.models import Role

pytestmark = pytest.mark.django_db


def _teams(owner, count: int, *, members: int = 0):
    from accounts.services import user_create
    from namespaces.services import namespace_create
    from teams.services import team_create, team_member_add

    made = []
    for i in range(count):
        team = team_create(name=f"team-{i:03d}", owner=owner)
        for j in range(members):
            user = user_create(username=f"m{i}x{j}", email=f"m{i}x{j}@example.org", password="x" * 20,
                               check_password=False)
            team_member_add(team=team, user=user, role=Role.OWNER if j == 0 else Role.VIEWER, by=owner)
        for j in range(4):
            namespace_create(name=f"ns-{i}-{j}", team=team, by=owner)
        made.append(team)
    return made


def test_admin_sees_every_team_with_owners_members_and_namespaces(as_user, admin, team, owner, outsider):
    from namespaces.services import namespace_create
    from teams.services import team_create

    namespace_create(name="qa", team=team, by=owner)
    team_create(name="not-mine", owner=outsider)
    html = as_user(admin).get("/admin/teams").content.decode()
    assert ">qa<" in html and ">not-mine<" in html
    assert ">olivia<" in html and ">oscar<" in html
    assert "personal/" not in html and "global/" not in html  # the hidden teams are not listed
    row = html.split(">qa</a>")[1].split("</tr>")[0]
    assert '<td class="text-end">4</td>' in row  # olivia, carl, vera, ci-bot
    assert f'href="/namespaces/{team.namespaces.get().pk}"' in row


def test_a_row_names_three_owners_and_namespaces_and_counts_the_rest(as_user, admin, owner):
    from accounts.services import user_create
    from teams.services import team_member_add

    team = _teams(owner, 1)[0]
    for name in ("zed", "yan", "xia"):
        user = user_create(username=name, email=f"{name}@example.org", password="x" * 20, check_password=False)
        team_member_add(team=team, user=user, role=Role.OWNER, by=owner)
    row = as_user(admin).get("/admin/teams").content.decode().split(">team-000</a>")[1].split("</tr>")[0]
    assert ">olivia<" in row and ">xia<" in row and ">yan<" in row and ">zed<" not in row
    assert "and 1 more" in row
    assert ">4</span>" in row and "ns-0-0" in row and "ns-0-3" not in row


def test_search_by_name_is_case_insensitive(as_user, admin, team, outsider):
    from teams.services import team_create

    team_create(name="Backend", owner=outsider)
    html = as_user(admin).get("/admin/teams", {"q": "BACK"}).content.decode()
    assert ">Backend<" in html and ">qa<" not in html


def test_long_search_is_refused_not_run(as_user, admin, team):
    html = as_user(admin).get("/admin/teams", {"q": "q" * 5000}).content.decode()
    assert ">qa<" in html  # an invalid search filters nothing


@pytest.mark.parametrize("actor", ["owner", "viewer", "outsider"])
def test_only_admins_see_the_list(as_user, request, actor, team):
    response = as_user(request.getfixturevalue(actor)).get("/admin/teams")
    assert response.status_code in (403, 404)


def test_anonymous_is_sent_to_sign_in(as_user, registry):
    assert as_user(None).get("/admin/teams").status_code == 302


def test_paginated(as_user, admin, owner, monkeypatch):
    from web.views import admin_teams

    monkeypatch.setattr(admin_teams, "ADMIN_PER_PAGE", 5)
    _teams(owner, 7)
    first = as_user(admin).get("/admin/teams").content.decode()
    second = as_user(admin).get("/admin/teams", {"page": 2}).content.decode()
    assert ">team-004<" in first and ">team-005<" not in first
    assert ">team-005<" in second and ">team-006<" in second


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/admin/teams").status_code == 200
    return len(captured)


def test_a_fixed_number_of_queries_whatever_the_page_holds(as_user, admin, owner, django_assert_max_num_queries):
    from teams.services import team_create

    client = as_user(admin)
    team_create(name="alone", owner=owner)
    few = _queries(client)
    _teams(owner, 12, members=3)
    with django_assert_max_num_queries(few):
        many = _queries(client)
    assert few == many, f"{few} queries for one team, {many} for thirteen"
    print(f"/admin/teams: {few} queries for 1 team, {many} for 13 teams (up to 4 members and 4 namespaces each)")


def test_the_teams_page_leads_admins_to_the_full_list(as_user, admin, owner, team):
    assert 'href="/admin/teams"' in as_user(admin).get("/teams").content.decode()
    assert 'href="/admin/teams"' not in as_user(owner).get("/teams").content.decode()
