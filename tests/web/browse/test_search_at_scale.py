"""Search finds the same repositories however it reaches them: through the ids of the namespaces a text
names (few of them) or through the join (many), and as the plain join of the two names always did."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from namespaces.models import Repository
from web.views import browse_search
from web.views.browse_repositories import listed

pytestmark = pytest.mark.django_db


def joined(query: str) -> Q:
    """The filter as it was written before the namespace ids: a join on the namespace's name."""
    match = Q(name__icontains=query) | Q(namespace__name__icontains=query)
    namespace_part, slash, name_part = query.partition("/")
    if slash and namespace_part and name_part:
        match |= Q(namespace__name__icontains=namespace_part, name__icontains=name_part)
    return match


@pytest.fixture
def seeded(db):
    call_command("seed_demo", repositories=150, tags=300, users=12)


def names(queryset) -> list[str]:
    return [r.full_name for r in listed(queryset)]


WORDS = ["api", "platform", "web", "ml/api", "core", "a", "-", "/", "data-labs/", "PAY", "zz", "gateway-cli"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.one_of(st.sampled_from(WORDS), st.text(alphabet="aceilmnoprstw-/", min_size=1, max_size=6)))
def test_search_finds_what_the_join_found(seeded, monkeypatch, query):
    everyone = Repository.objects.all()
    expected = names(everyone.filter(joined(query)))
    assert names(everyone.filter(browse_search.repository_filter(query))) == expected
    monkeypatch.setattr(browse_search, "NAMESPACES_BY_ID", 0)  # every text broad: the join
    assert names(everyone.filter(browse_search.repository_filter(query))) == expected


def test_search_pages_show_what_the_join_found(seeded, client_of):
    member = User.objects.filter(admin=False, bot=False).order_by("id").first()
    for query in ("api", "platform", "ml/api"):
        shown = [r.full_name for r in client_of(member).get("/search", {"q": query}).context["repositories"]]
        expected = names(Repository.objects.visible_to(member).filter(joined(query)))
        assert shown == expected[: len(shown)] and shown
