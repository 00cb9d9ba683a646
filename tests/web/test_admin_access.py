"""Every admin page: anonymous visitors are sent to sign in, everyone but admins gets 403."""

from __future__ import annotations

import pytest

GET_PAGES = ["/admin", "/admin/users", "/admin/users/new", "/admin/users/{user}", "/admin/users/{user}/delete",
             "/admin/registries", "/admin/registries/new", "/admin/registries/{registry}/edit",
             "/admin/activities", "/admin/activities.csv"]
POST_ACTIONS = ["/admin/users/new", "/admin/users/{user}/edit", "/admin/users/{user}/enabled",
                "/admin/users/{user}/admin", "/admin/users/{user}/unlock", "/admin/users/{user}/delete",
                "/admin/users/{user}/application_tokens", "/admin/registries/new",
                "/admin/registries/{registry}/edit", "/admin/events/retry"]


@pytest.fixture
def urls(outsider, registry):
    def fill(template):
        return template.format(user=outsider.pk, registry=registry.pk)

    return fill


@pytest.mark.parametrize("page", GET_PAGES + POST_ACTIONS)
def test_anonymous_visitors_are_sent_to_sign_in(client, urls, page, reachable):
    url = urls(page)
    for response in (client.get(url), client.post(url, {"value": "0"})):
        assert response.status_code in (302, 405)
        if response.status_code == 302:
            assert response["Location"].startswith("/users/sign_in?next=")


@pytest.mark.parametrize("actor", ["owner", "contributor", "viewer", "outsider"])
@pytest.mark.parametrize("page", GET_PAGES + POST_ACTIONS)
def test_non_admins_get_403(as_user, request, urls, actor, page, team, reachable):
    client = as_user(request.getfixturevalue(actor))
    url = urls(page)
    if page in GET_PAGES:
        assert client.get(url).status_code == 403
    assert client.post(url, {"value": "0"}).status_code == 403


@pytest.mark.parametrize("page", GET_PAGES)
def test_admins_open_every_page(as_user, admin, urls, page, reachable):
    assert as_user(admin).get(urls(page)).status_code == 200


@pytest.mark.parametrize("page", ["/admin/users/{user}/enabled", "/admin/users/{user}/admin",
                                  "/admin/users/{user}/unlock", "/admin/users/{user}/edit",
                                  "/admin/users/{user}/application_tokens", "/admin/events/retry"])
def test_actions_refuse_get(as_user, admin, urls, page):
    assert as_user(admin).get(urls(page)).status_code == 405


def test_a_bot_admin_cannot_use_the_admin_pages(as_user, internal_account):
    response = as_user(internal_account).get("/admin/users")
    assert response.status_code == 302 and response["Location"] == "/users/sign_in"


def test_unknown_objects_are_404(as_user, admin, registry):
    client = as_user(admin)
    assert client.get("/admin/users/99999").status_code == 404
    assert client.get("/admin/registries/99999/edit").status_code == 404
    assert client.post("/admin/users/99999/enabled", {"value": "0"}).status_code == 404
