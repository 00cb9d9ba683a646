"""Deep pages (portus/slicing.py, policy.listed_repositories_q): the API's and the UI's repository lists give
exactly the rows of the plain OFFSET query over the former visibility filter, for every actor, sort and page,
the last and beyond it included; and the deferred slice equals the plain slice wherever it starts."""

from __future__ import annotations

import io
import math

import pytest
from django.core.management import call_command
from django.core.paginator import Paginator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from api import pagination
from api.serializers.repositories import REPOSITORY_SORT_FIELDS, repositories_queryset
from grants.models import RepositoryGrant
from grants.patterns import like_pattern
from namespaces.models import Namespace, Repository
from portus import slicing
from teams.models import Team, TeamMember
from tests.api.conftest import client_for
from tests.policy.test_visible_repositories_rewrite import former_visible_q
from web.views.browse_repositories import listed

pytestmark = pytest.mark.django_db

PER_PAGE = 7


@pytest.fixture
def world(options, monkeypatch):
    """300 repositories; a member without grants, a user holding grants (to them and to their team) in private
    namespaces of other teams, an admin; every page deferred, counts capped at 120 rows (so some lists are
    capped, as long lists are at scale)."""
    call_command("seed_demo", repositories=300, tags=600, users=30, stdout=io.StringIO())
    monkeypatch.setattr(slicing, "DEFERRED_FROM", 0)
    monkeypatch.setattr(pagination, "COUNT_CAP", 120)
    options.set("pagination.max_per_page", 100)
    options.set("anonymous_browsing.enabled", True)
    admin = User.objects.get(username="admin")
    member = (TeamMember.objects.filter(team__hidden=False, user__admin=False, user__bot=False)
              .select_related("user").order_by("id").first().user)
    grantee = User.objects.filter(admin=False, bot=False).exclude(pk=member.pk).order_by("-id").first()
    mine = TeamMember.objects.filter(user=grantee).values("team_id")
    elsewhere = list(Namespace.objects.filter(visibility="private", is_global=False, team__hidden=False)
                     .exclude(team_id__in=mine).order_by("id")[:3])
    team = Team.objects.filter(hidden=False, members__user=grantee).first()
    for n, (namespace, pattern) in enumerate(zip(elsewhere, ("*", "a*", "*e*"), strict=False)):
        grantee_of = {"team": team} if n == 1 and team is not None else {"user": grantee}
        RepositoryGrant.objects.create(namespace=namespace, pattern=pattern, like_pattern=like_pattern(pattern),
                                       permission="pull", created_by=admin, **grantee_of)
    return {"admin": admin, "member": member, "grantee": grantee, "anonymous": None}


def former(user):
    return Repository.objects.filter(former_visible_q(user))


def test_the_grantee_sees_granted_rows_beyond_their_namespaces(world):
    from namespaces.namespace_rules import pullable_namespaces_q

    grantee = world["grantee"]
    by_namespace = set(Repository.objects.filter(pullable_namespaces_q(grantee, "namespace__"))
                       .values_list("pk", flat=True))
    assert set(former(grantee).values_list("pk", flat=True)) - by_namespace


@pytest.mark.parametrize("actor", ["admin", "member", "grantee"])
def test_api_pages_are_the_plain_offset_rows(world, actor):
    user = world[actor]
    client = client_for(user)
    total, capped = pagination._bounded_count(former(user))
    last = max(1, math.ceil(total / PER_PAGE))
    for attr, field in REPOSITORY_SORT_FIELDS.items():
        for order in ("asc", "desc"):
            prefix = "-" if order == "desc" else ""
            ordering = [f"{prefix}{field}", *([] if field == "pk" else [f"{prefix}pk"])]
            plain = repositories_queryset(former(user), user).order_by(*ordering)
            for page in sorted({1, 2, last // 2 or 1, last, last + 1}):
                response = client.get("/api/v1/repositories", {"page": page, "per_page": PER_PAGE,
                                                               "sort_attr": attr, "sort_order": order})
                if capped and page > last:
                    assert response.status_code == 400 and "page" in response.json()["message"]
                    continue
                assert response.status_code == 200, response.content
                offset = (page - 1) * PER_PAGE
                want = [(r.pk, r.starred) for r in plain[offset:offset + PER_PAGE]] if offset < total else []
                assert [(row["id"], row["starred"]) for row in response.json()] == want, (actor, attr, order, page)


@pytest.mark.parametrize("actor", ["admin", "member", "grantee"])
def test_ui_pages_are_the_plain_offset_rows(world, options, client_of, actor):
    options.set("pagination.per_page", PER_PAGE)
    user = world[actor]
    client = client_of(user)
    rows = listed(former(user))
    count = min(rows.count(), 10_000)
    plain = Paginator(rows, PER_PAGE)
    last = max(1, math.ceil(count / PER_PAGE))
    for page in ("1", "2", str(last // 2 or 1), str(last), str(last + 1), "abc", "-1", "0", str(10**30), "1.5", ""):
        response = client.get("/repositories", {"page": page})
        assert response.status_code == 200
        shown = response.context["page"]
        want = plain.get_page(page)
        assert shown.number == want.number, (actor, page)
        assert [r.pk for r in shown.object_list] == [r.pk for r in want.object_list], (actor, page)


@pytest.mark.parametrize("actor", ["admin", "member", "grantee", "anonymous"])
def test_every_ordering_by_the_deferred_slice(world, actor):
    user = world[actor]
    base = repositories_queryset(Repository.objects.visible_to(user), user)
    orderings = [["pk"], ["-name", "-pk"], ["tags_count", "pk"], ["-pushed_at", "-pk"], ["stars_count", "pk"]]
    total = base.count()
    for ordering in orderings:
        plain = base.order_by(*ordering)
        for start in (0, 1, total // 2, max(0, total - PER_PAGE), total, total + 5):
            assert [r.pk for r in slicing.deep_slice(plain, start, start + PER_PAGE)] == \
                   [r.pk for r in plain[start:start + PER_PAGE]], (actor, ordering, start)
    listed_rows = listed(Repository.objects.visible_to(user))
    assert [r.pk for r in slicing.deep_slice(listed_rows, 40, 50)] == [r.pk for r in listed_rows[40:50]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, 400), size=st.integers(0, 30), actor=st.sampled_from(["admin", "member", "grantee"]),
       ordering=st.sampled_from([["pk"], ["-pk"], ["name", "pk"], ["-tags_count", "-pk"], ["pushed_at", "pk"],
                                 ["namespace__registry_id", "namespace__name", "name"]]))
def test_deferred_slice_is_the_plain_slice(world, start, size, actor, ordering):
    user = world[actor]
    queryset = Repository.objects.visible_to(user).select_related("namespace").order_by(*ordering)
    assert ([r.pk for r in slicing.deep_slice(queryset, start, start + size)]
            == [r.pk for r in queryset[start:start + size]])


def test_lists_that_cannot_be_found_by_their_keys_are_sliced_as_they_are(world):
    grouped = Repository.objects.values("namespace_id").order_by("namespace_id")
    assert not slicing.deferrable(grouped)
    assert not slicing.deferrable(Repository.objects.order_by("name").distinct())
    assert not slicing.deferrable(Repository.objects.all().order_by())
    assert slicing.deferrable(Repository.objects.order_by("name"))


def _merged(user):
    from namespaces import policy

    policy.forget_grants(user)
    split = policy.split_listed_repositories_q(user)
    assert split is not None
    walked, few = (listed(Repository.objects.filter(q)) for q in split)
    return listed(Repository.objects.filter(policy.listed_repositories_q(user))), walked, few


def test_a_grantees_split_is_disjoint_and_whole(world):
    queryset, walked, few = _merged(world["grantee"])
    walked_pks = set(walked.values_list("pk", flat=True))
    few_pks = set(few.values_list("pk", flat=True))
    assert few_pks and not walked_pks & few_pks
    assert walked_pks | few_pks == set(former(world["grantee"]).values_list("pk", flat=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, 320), size=st.integers(0, 40), wide=st.booleans())
def test_merged_slice_is_the_plain_slice(world, start, size, wide):
    """Also with grants covering whole namespaces, so that the granted part is longer than the page's end."""
    grantee = world["grantee"]
    if wide:
        admin = world["admin"]
        mine = TeamMember.objects.filter(user=grantee).values("team_id")
        for namespace in Namespace.objects.filter(visibility="private", is_global=False).exclude(team_id__in=mine):
            RepositoryGrant.objects.get_or_create(namespace=namespace, user=grantee, pattern="*",
                                                  defaults={"like_pattern": "%", "permission": "pull",
                                                            "created_by": admin})
    queryset, walked, few = _merged(grantee)
    plain = listed(former(grantee))
    want = [r.pk for r in plain[start:start + size]]
    assert [r.pk for r in slicing.merged_slice(queryset, walked, few, start, start + size)] == want
    shape = listed(Repository.objects.all())
    assert [r.pk for r in slicing.merged_slice(queryset, walked, few, start, start + size, shape=shape)] == want


def test_a_long_granted_part_is_sliced_as_it_is(world, monkeypatch):
    monkeypatch.setattr(slicing, "FEW_AT_MOST", 2)
    queryset, walked, few = _merged(world["grantee"])
    assert few.count() > 2
    plain = listed(former(world["grantee"]))
    for start in (0, 5, 60, 200):
        assert ([r.pk for r in slicing.merged_slice(queryset, walked, few, start, start + 9)]
                == [r.pk for r in plain[start:start + 9]])


def test_a_grantees_list_runs_a_fixed_number_of_queries(world, options, client_of):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_of(world["grantee"])
    counts = set()
    for per_page, page in ((3, 1), (30, 1), (3, 40), (30, 5), (3, 10**6)):
        options.set("pagination.per_page", per_page)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/repositories", {"page": page}).status_code == 200
        counts.add(len(queries))
    assert len(counts) == 1, counts


def test_a_list_filtered_through_a_many_valued_join_keeps_its_filter(world):
    """Repositories starred by someone: the join to the stars stays (and its filter with it)."""
    from namespaces.models import Star

    starrer = Star.objects.values_list("user_id", flat=True).first()
    assert starrer is not None
    queryset = Repository.objects.filter(stars__user_id=starrer).select_related("namespace").order_by("name", "pk")
    assert slicing._by_keys(queryset) is queryset
    count = queryset.count()
    for start in (0, 1, count // 2, count):
        assert ([r.pk for r in slicing.deep_slice(queryset, start, start + 3)]
                == [r.pk for r in queryset[start:start + 3]])
    plain = Repository.objects.visible_to(world["member"]).select_related("namespace").order_by("pk")
    assert not slicing._by_keys(plain).query.where
