"""Paging as Portus did it (page, per_page, all, sort_attr, sort_order, X-* and Link headers) under a ceiling."""

from __future__ import annotations

import pytest

from teams.services import team_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams(owner, team):
    """qa plus t01…t20, all owned by olivia: 21 teams."""
    return [team] + [team_create(name=f"t{n:02}", owner=owner) for n in range(1, 21)]


def names(response) -> list[str]:
    return [row["name"] for row in response.json()]


def test_first_page_defaults_to_15(client_as, teams):
    response = client_as("owner").get("/api/v1/teams")
    assert response.status_code == 200
    assert len(response.json()) == 15
    assert response["X-Page"] == "1"
    assert response["X-Per-Page"] == "15"
    assert response["X-Total"] == "21"
    assert response["X-Total-Pages"] == "2"
    assert response["X-Next-Page"] == "2"
    assert response["X-Prev-Page"] == ""


def test_link_header(client_as, teams):
    response = client_as("owner").get("/api/v1/teams", {"page": 2, "per_page": 5, "sort_attr": "name"})
    link = response["Link"]
    assert 'page=1&per_page=5>; rel="prev"' in link
    assert 'page=3&per_page=5>; rel="next"' in link
    assert 'rel="first"' in link and 'page=5&per_page=5>; rel="last"' in link
    assert "sort_attr=name" in link
    assert link.startswith("<http://testserver/api/v1/teams?")


def test_last_page(client_as, teams):
    response = client_as("owner").get("/api/v1/teams", {"page": 2})
    assert len(response.json()) == 6
    assert response["X-Next-Page"] == ""
    assert response["X-Prev-Page"] == "1"
    assert 'rel="next"' not in response["Link"]


def test_page_past_the_end_is_empty(client_as, teams):
    response = client_as("owner").get("/api/v1/teams", {"page": 99})
    assert response.status_code == 200
    assert response.json() == []
    assert response["X-Total"] == "21"


def test_sorting(client_as, teams):
    response = client_as("owner").get("/api/v1/teams", {"sort_attr": "name", "sort_order": "desc", "per_page": 3})
    assert names(response) == ["t20", "t19", "t18"]
    response = client_as("owner").get("/api/v1/teams", {"sort_attr": "name", "per_page": 2})
    assert names(response) == ["qa", "t01"]


def test_default_order_is_by_id(client_as, teams):
    response = client_as("owner").get("/api/v1/teams", {"per_page": 3})
    assert [row["id"] for row in response.json()] == sorted(t.pk for t in teams)[:3]


def test_unknown_sort_attribute_is_400_naming_it(client_as, teams):
    response = client_as("owner").get("/api/v1/teams", {"sort_attr": "password"})
    assert response.status_code == 400
    assert "sort_attr" in response.json()["message"]


def test_bad_sort_order_is_400(client_as, teams):
    response = client_as("owner").get("/api/v1/teams", {"sort_order": "sideways"})
    assert response.status_code == 400
    assert "sort_order" in response.json()["message"]


@pytest.mark.parametrize("params, field", [
    ({"page": "0"}, "page"), ({"page": "two"}, "page"), ({"per_page": "-1"}, "per_page"),
    ({"all": "perhaps"}, "all"), ({"page": str(10**12)}, "page"), ({"page": "-1"}, "page"),
    ({"page": str(10**30)}, "page"), ({"page": "abc"}, "page"), ({"page": "last"}, "page"),
])
def test_bad_paging_values_are_400_naming_the_field(client_as, teams, params, field):
    response = client_as("owner").get("/api/v1/teams", params)
    assert response.status_code == 400
    assert field in response.json()["message"]


def test_per_page_is_capped_at_the_ceiling(client_as, teams, options):
    options.set("pagination.max_per_page", 10)
    response = client_as("owner").get("/api/v1/teams", {"per_page": 1000})
    assert len(response.json()) == 10
    assert response["X-Per-Page"] == "10"
    assert response["X-Total-Pages"] == "3"


def test_all_returns_everything_without_paging_headers(client_as, teams):
    response = client_as("owner").get("/api/v1/teams", {"all": "true"})
    assert len(response.json()) == 21
    assert "X-Page" not in response
    assert response["X-Total"] == "21"


def test_all_beyond_the_ceiling_is_refused(client_as, teams, options):
    options.set("pagination.max_per_page", 20)
    response = client_as("owner").get("/api/v1/teams", {"all": "true"})
    assert response.status_code == 400
    assert "all" in response.json()["message"]


def test_all_false_pages(client_as, teams):
    response = client_as("owner").get("/api/v1/teams", {"all": "false"})
    assert len(response.json()) == 15
