"""Long lists: the API counts at most COUNT_CAP entries, says so, and still pages through every one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api import pagination
from teams.services import team_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def capped(monkeypatch, options):
    """Counting stops at 5 entries; pages hold at most 4."""
    monkeypatch.setattr(pagination, "COUNT_CAP", 5)
    options.set("pagination.max_per_page", 4)


def make_teams(owner, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        team_create(name=f"t{n:02}", owner=owner)


def test_a_list_longer_than_the_cap_says_so_and_pages_through_the_counted_part(client_as, owner, team, capped):
    make_teams(owner, 12)  # 13 teams with qa
    client = client_as("owner")
    seen, page, pages = [], 1, []
    while page:
        response = client.get("/api/v1/teams", {"page": page, "per_page": 2})
        assert response.status_code == 200
        assert response["X-Total"] == "5" and response["X-Total-Capped"] == "true"
        assert 'rel="last"' not in response["Link"]
        seen += [row["name"] for row in response.json()]
        pages.append(page)
        page = int(response["X-Next-Page"]) if response["X-Next-Page"] else None
        assert ('rel="next"' in response["Link"]) == bool(page)
    assert pages == [1, 2, 3]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 6  # the pages that reach the counted 5
    assert client.get("/api/v1/teams", {"page": 4, "per_page": 2}).status_code == 400
    # The other end of the list: its first pages in the other order.
    last = client.get("/api/v1/teams", {"sort_attr": "name", "sort_order": "desc", "per_page": 2}).json()
    assert [row["name"] for row in last] == ["t11", "t10"]


def test_a_list_within_the_cap_is_counted_exactly(client_as, owner, team, capped):
    make_teams(owner, 4)  # 5 teams: exactly the cap
    response = client_as("owner").get("/api/v1/teams", {"per_page": 4})
    assert response["X-Total"] == "5" and response["X-Total-Pages"] == "2"
    assert "X-Total-Capped" not in response and 'rel="last"' in response["Link"]


def test_all_of_a_capped_list_is_refused(client_as, owner, team, capped):
    make_teams(owner, 12)
    response = client_as("owner").get("/api/v1/teams", {"all": "true"})
    assert response.status_code == 400 and "5+" in str(response.json())


def test_a_page_costs_the_same_queries_for_a_short_and_a_long_list(client_as, owner, team, capped):
    client = client_as("owner")
    counts = []
    for count, start in ((2, 0), (30, 2)):
        make_teams(owner, count, start)
        client.get("/api/v1/teams", {"page": 2, "per_page": 2})
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/teams", {"page": 2, "per_page": 2}).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
