"""Lists run a fixed number of queries, however many rows they show."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import user_create
from namespaces.models import Namespace, Repository
from namespaces.services import namespace_create
from namespaces.social import comment_create, star_toggle
from teams.models import Role
from teams.services import team_create, team_member_add

from .conftest import make_repository

pytestmark = pytest.mark.django_db

MAX_QUERIES = 6


def queries(client, url: str) -> int:
    client.get(url)  # warm up: the token's last use is recorded at most once a minute
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"per_page": 100})
    assert response.status_code == 200, response.content
    return len(captured)


def grow(count: int, namespace, owner, team) -> None:
    """Adds `count` users, teams, namespaces, repositories with tags, comments and stars."""
    start = Repository.objects.count()
    for n in range(count):
        suffix = f"{start}x{n}"
        user = user_create(username=f"u{suffix}", email=f"u{suffix}@example.org", password="x" * 12,
                           check_password=False)
        team_member_add(team=team, user=user, role=Role.VIEWER, by=owner)
        other = team_create(name=f"team{suffix}", owner=owner)
        namespace_create(name=f"ns{suffix}", team=other, by=owner)
        repository = make_repository(namespace, name=f"app{suffix}",
                                     tags={"latest": f"sha256:{n:064}", f"v{n}": f"sha256:{n + 1:064}"},
                                     author=user)
        comment_create(repository=Repository.objects.get(name="app"), author=user, body=f"comment {n}")
        star_toggle(repository=repository, user=owner)


ADMIN_ONLY = ["/api/v1/users", "/api/v1/tags", "/api/v1/registries"]
FOR_MEMBERS = [
    "/api/v1/teams", "/api/v1/namespaces", "/api/v1/repositories", "/api/v1/users/{owner}/application_tokens",
    "/api/v1/teams/{team}/members", "/api/v1/teams/{team}/namespaces", "/api/v1/namespaces/{namespace}/repositories",
    "/api/v1/repositories/{repository}/tags", "/api/v1/repositories/{repository}/tags/grouped",
    "/api/v1/repositories/{repository}/comments", "/api/v1/repositories/{repository}",
]
CASES = [("admin", url) for url in ADMIN_ONLY + FOR_MEMBERS] + [("owner", url) for url in FOR_MEMBERS]


@pytest.mark.parametrize("role, template", CASES)
def test_list_queries_do_not_grow_with_rows(client_as, namespace, repository, owner, team, template, role,
                                            django_assert_max_num_queries):
    url = template.format(owner=owner.pk, team=team.pk, namespace=namespace.pk, repository=repository.pk)
    client = client_as(role)
    grow(2, namespace, owner, team)
    few = queries(client, url)
    grow(6, namespace, owner, team)
    many = queries(client, url)
    assert many == few
    with django_assert_max_num_queries(MAX_QUERIES):
        client.get(url, {"per_page": 100})


def test_namespace_list_with_many_teams_is_flat(client_as, owner, team, namespace, django_assert_max_num_queries):
    for n in range(10):
        other = team_create(name=f"extra{n}", owner=owner)
        namespace_create(name=f"extra{n}", team=other, by=owner)
    assert Namespace.objects.count() > 10
    client = client_as("owner")
    client.get("/api/v1/namespaces")
    with django_assert_max_num_queries(MAX_QUERIES):
        assert len(client.get("/api/v1/namespaces", {"per_page": 100}).json()) > 10
