"""Each browsing page runs a fixed number of queries, whatever the size of its page, on a seeded database."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

# page → most queries for (admin, team member, anonymous); None: the page is not for that actor.
# They include the session and the user (2 queries) and the user's team roles (1, read once per request).
BUDGET = {
    "/namespaces": (11, 12, None),  # admins also see the retired namespaces; all, those their pushes made
    # + the storage line (images/storage.py): 2 queries, 2 more when the namespace stores anything
    "/namespaces/{public_namespace}": (9, 10, 7),
    "/teams": (7, 7, None),
    "/teams/{team}": (9, 9, None),
    # + the member's grants, read first (policy.listed_repositories_q: without any, the list walks an index)
    "/repositories": (4, 5, None),
    # + the storage line (up to 4), what sits beside the images (signatures, SBOMs: up to 3) and the
    # pushes and pulls chart (1)
    "/repositories/{public_repository}": (17, 18, 14),
    # + the ids of the namespaces whose name holds the text (web/views/browse_search.py: NAMESPACES_BY_ID)
    "/search?q=a": (10, 10, 6),
    "/explore": (4, 4, 2),
}


@pytest.fixture
def seeded(options):
    """80 repositories, 800 tags, deletes on (so the pages show their delete buttons too)."""
    from accounts.models import User
    from namespaces.models import Repository
    from teams.models import TeamMember

    call_command("seed_demo", repositories=80, tags=800, users=15)
    options.set("delete.enabled", True)
    from registries.models import directory

    directory()  # this process's copy of the registries table: read once every few seconds, not per page
    member = TeamMember.objects.filter(team__hidden=False).select_related("user", "team").order_by("id").first()
    repository = (Repository.objects.filter(namespace__visibility="public").select_related("namespace")
                  .order_by("-tags_count").first())
    return {
        "admin": User.objects.get(username="admin"),
        "member": member.user,
        "anonymous": None,
        "ids": {"team": member.team.pk, "public_repository": repository.pk,
                "public_namespace": repository.namespace_id},
    }


def _queries(client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return response.status_code, len(captured)


CASES = [(page, actor, budget) for page, budgets in BUDGET.items()
         for actor, budget in zip(("admin", "member", "anonymous"), budgets, strict=True) if budget is not None]


@pytest.mark.parametrize("page, actor, budget", CASES)
def test_page_runs_a_fixed_number_of_queries(client_of, seeded, options, django_assert_max_num_queries,
                                             page, actor, budget):
    url = page.format(**seeded["ids"])
    client = client_of(seeded[actor])
    sizes = []
    for per_page in (3, 30):
        options.set("pagination.per_page", per_page)
        with django_assert_max_num_queries(budget):
            status, count = _queries(client, url)
        assert status == 200
        sizes.append(count)
    assert sizes[0] == sizes[1], f"{url} as {actor}: {sizes[0]} queries for 3 rows, {sizes[1]} for 30"


def test_repository_page_with_many_digests_and_comments_stays_fixed(client_of, seeded, options,
                                                                     django_assert_max_num_queries):
    from namespaces.models import Comment, Repository

    repository = Repository.objects.get(pk=seeded["ids"]["public_repository"])
    Comment.objects.bulk_create(Comment(repository=repository, author=seeded["member"], body=f"comment {i}")
                                for i in range(40))
    options.set("pagination.per_page", 50)
    client = client_of(seeded["member"])
    # One of them reads the member's per-repository grants (once, whatever the page holds).
    with django_assert_max_num_queries(19):
        response = client.get(f"/repositories/{repository.pk}")
    assert len(response.context["tags_page"].groups) > 5
    assert len(response.context["comments"]) == 20
