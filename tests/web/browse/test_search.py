"""Search over repositories, namespaces and teams (visibility-filtered), and explore for anonymous visitors."""

from __future__ import annotations

import pytest

from namespaces.models import Repository

from .conftest import DIGEST_A, add_tag

pytestmark = pytest.mark.django_db


def test_search_finds_repositories_namespaces_and_teams(client_of, viewer, repository):
    response = client_of(viewer).get("/search", {"q": "qa"})
    assert response.status_code == 200
    context = response.context
    assert [r.full_name for r in context["repositories"]] == ["qa/app"]
    assert [n.name for n in context["namespaces"]] == ["qa"]
    assert [t.name for t in context["teams"]] == ["qa"]


def test_search_matches_namespace_slash_name(client_of, viewer, repository):
    found = client_of(viewer).get("/search", {"q": "qa/ap"}).context["repositories"]
    assert [r.full_name for r in found] == ["qa/app"]


def test_search_hides_what_the_user_may_not_see(client_of, outsider, repository, namespace_of_visibility):
    namespace_of_visibility("protected")
    context = client_of(outsider).get("/search", {"q": "app"}).context
    assert [r.full_name for r in context["repositories"]] == ["qa-protected/protected-app"]
    assert [t.name for t in client_of(outsider).get("/search", {"q": "qa"}).context["teams"]] == []


def test_anonymous_search_finds_public_repositories_only(client_of, repository, namespace_of_visibility):
    namespace_of_visibility("protected")
    namespace_of_visibility("public")
    response = client_of(None).get("/search", {"q": "app"})
    assert response.status_code == 200
    assert [r.full_name for r in response.context["repositories"]] == ["qa-public/public-app"]
    assert "Teams" not in response.content.decode()


def test_anonymous_search_needs_sign_in_when_anonymous_browsing_is_off(client_of, options):
    options.set("anonymous_browsing.enabled", False)
    assert client_of(None).get("/search", {"q": "app"}).status_code == 302


def test_empty_search_shows_the_form(client_of, viewer):
    response = client_of(viewer).get("/search")
    assert response.status_code == 200 and "repositories" not in response.context


def test_explore_lists_public_repositories_to_anonymous_visitors(client_of, repository, namespace_of_visibility):
    add_tag(namespace_of_visibility("protected").repositories.get(), "latest", DIGEST_A)
    public_namespace = namespace_of_visibility("public")
    public = public_namespace.repositories.get()
    add_tag(public, "latest", DIGEST_A)
    Repository.objects.create(namespace=public_namespace, name="empty")  # nothing to pull yet
    response = client_of(None).get("/explore")
    assert response.status_code == 200
    assert [r.pk for r in response.context["page"]] == [public.pk]


def test_explore_filters_by_query(client_of, namespace_of_visibility):
    namespace_of_visibility("public")
    assert list(client_of(None).get("/explore", {"q": "nothing-like-it"}).context["page"]) == []


def test_explore_redirects_to_sign_in_when_anonymous_browsing_is_off(client_of, options):
    options.set("anonymous_browsing.enabled", False)
    response = client_of(None).get("/explore")
    assert response.status_code == 302 and response["Location"].startswith("/users/sign_in")


def test_explore_for_signed_in_users_too(client_of, outsider, namespace_of_visibility):
    namespace_of_visibility("public")
    assert client_of(outsider).get("/explore").status_code == 200


def test_bots_do_not_browse(client_of, bot, team):
    response = client_of(bot).get("/explore")
    assert response.status_code == 302 and response["Location"].startswith("/users/sign_in")
