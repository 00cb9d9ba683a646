"""The web pages of tokens, robots and grants: who may open them, what they do, what they show."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import ApplicationToken, User
from grants.models import RepositoryGrant
from tests.conftest import PASSWORD


@pytest.fixture
def as_user(db):
    def make(user=None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user, backend="accounts.backends.PortusBackend")
        return client

    return make


def test_the_token_form_suggests_90_days_and_pull_only(as_user, owner):
    page = as_user(owner).get("/users/edit").content.decode()
    assert re.search(r'<option value="90" selected>', page)
    assert re.search(r'<option value="pull" selected>', page)


def test_a_new_token_shows_the_docker_login_lines_once(as_user, owner, registry):
    response = as_user(owner).post("/users/application_tokens", {
        "application": "laptop", "registry_access": "pull", "api_access": "none", "expires_in": "90"})
    assert response.status_code == 201
    plain = response.context["plain"]
    page = response.content.decode()
    assert f"docker login -u olivia --password-stdin {registry.reference_host}" in page
    assert f"echo &#x27;{plain}&#x27; | docker login -u olivia --password-stdin {registry.reference_host}" in page
    assert "<script>" not in page and "onclick" not in page  # the copy buttons are the static script's
    token = ApplicationToken.objects.get(user=owner)
    assert token.registry_access == "pull" and token.api_access == "none" and token.expires_at
    assert token.created_by == owner
    assert plain not in as_user(owner).get("/users/edit").content.decode()


def test_a_token_needs_some_access(as_user, owner):
    response = as_user(owner).post("/users/application_tokens", {
        "application": "nothing", "registry_access": "none", "api_access": "none"})
    assert response.status_code == 400
    assert not ApplicationToken.objects.exists()


def test_a_robots_login_line_is_quoted_for_the_shell(as_user, owner, namespace, team, registry):
    client = as_user(owner)
    response = client.post(f"/namespaces/{namespace.pk}/robots", {"name": "ci", "role": "contributor"})
    robot = User.objects.get(username="robot$qa+ci")
    assert response.status_code == 302 and response["Location"] == f"/robots/{robot.pk}"
    assert robot.memberships.get().role == "contributor"
    response = client.post(f"/robots/{robot.pk}/application_tokens", {
        "application": "ci", "registry_access": "push", "api_access": "none", "expires_in": "90"})
    assert response.status_code == 201
    assert "docker login -u &#x27;robot$qa+ci&#x27; --password-stdin" in response.content.decode()
    assert ApplicationToken.objects.get(user=robot).created_by == owner


@pytest.mark.parametrize("role", ["contributor", "viewer", "outsider"])
def test_only_managers_open_the_robot_and_grant_pages(as_user, namespace, role, request):
    client = as_user(request.getfixturevalue(role))
    for url in (f"/namespaces/{namespace.pk}/robots", f"/namespaces/{namespace.pk}/grants"):
        assert client.get(url).status_code in (403, 404)
    assert client.post(f"/namespaces/{namespace.pk}/robots", {"name": "x"}).status_code in (403, 404)
    assert not User.objects.filter(username__startswith="robot$").exists()


def test_a_robots_page_is_its_managers_only(as_user, namespace, owner, outsider):
    from accounts.robots import robot_create

    robot = robot_create(name="ci", namespace=namespace, by=owner)
    assert as_user(owner).get(f"/robots/{robot.pk}").status_code == 200
    assert as_user(outsider).get(f"/robots/{robot.pk}").status_code == 404
    assert as_user(outsider).post(f"/robots/{robot.pk}/delete").status_code == 404
    assert as_user(owner).post(f"/robots/{robot.pk}/enabled", {"enabled": "0"}).status_code == 302
    robot.refresh_from_db()
    assert not robot.enabled
    assert as_user(owner).post(f"/robots/{robot.pk}/delete").status_code == 302
    assert not User.objects.filter(pk=robot.pk).exists()


def test_admins_make_instance_robots(as_user, admin, owner):
    assert as_user(owner).get("/admin/robots").status_code == 403
    response = as_user(admin).post("/admin/robots", {"name": "mirror", "description": "Mirrors images"})
    assert response.status_code == 302
    assert User.objects.get(username="robot$mirror").robot_namespace is None
    assert "robot$mirror" in as_user(admin).get("/admin/robots").content.decode()


def test_grants_page_gives_changes_and_takes_away(as_user, namespace, owner, outsider):
    client = as_user(owner)
    url = f"/namespaces/{namespace.pk}/grants"
    response = client.post(url, {"pattern": "app/*", "grantee_kind": "user", "grantee": "oscar",
                                 "permission": "pull"})
    assert response.status_code == 302
    grant = RepositoryGrant.objects.get()
    assert client.post(f"{url}/{grant.pk}/change", {"permission": "admin"}).status_code == 302
    grant.refresh_from_db()
    assert grant.permission == "admin"
    assert "app/*" in client.get(url).content.decode()
    assert client.post(f"{url}/{grant.pk}/delete").status_code == 302
    assert not RepositoryGrant.objects.exists()


def test_a_grant_to_nobody_is_a_form_error(as_user, namespace, owner):
    response = as_user(owner).post(f"/namespaces/{namespace.pk}/grants", {
        "pattern": "app", "grantee_kind": "user", "grantee": "nobody", "permission": "pull"})
    assert response.status_code == 400
    assert "No user or robot has this name." in response.content.decode()


def test_a_grantee_sees_only_the_granted_repositories_in_the_ui(as_user, namespace, owner, outsider):
    from grants.services import grant_create
    from namespaces.models import Repository

    app = Repository.objects.create(namespace=namespace, name="app")
    secret = Repository.objects.create(namespace=namespace, name="secret")
    grant_create(namespace=namespace, pattern="app", permission="pull", by=owner, user=outsider)
    client = as_user(outsider)
    page = client.get(f"/namespaces/{namespace.pk}").content.decode()
    assert f"/repositories/{app.pk}" in page and f"/repositories/{secret.pk}" not in page
    assert client.get(f"/repositories/{app.pk}").status_code == 200
    assert client.get(f"/repositories/{secret.pk}").status_code == 404
    search = client.get("/search", {"q": "e"}).content.decode()
    assert f"/repositories/{secret.pk}" not in search


def test_a_robot_cannot_sign_in_to_the_ui_and_is_told_why(client, namespace, owner):
    from accounts.robots import robot_create

    robot_create(name="ci", namespace=namespace, by=owner)
    response = client.post("/users/sign_in", {"username": "robot$qa+ci", "password": "whatever"})
    assert response.status_code == 200
    assert "Robot accounts have no web sign-in" in response.content.decode()


def test_sign_ins_are_audited(client, owner):
    from activities.models import Activity
    from web.templatetags.portus_activity import ACTIVITY_TEXTS

    client.post("/users/sign_in", {"username": "olivia", "password": "wrong-password"})
    client.post("/users/sign_in", {"username": "olivia", "password": PASSWORD})
    keys = list(Activity.objects.filter(key__startswith="user.sign_in").order_by("id").values_list("key", flat=True))
    assert keys == ["user.sign_in_failure", "user.sign_in"]
    assert all(key in ACTIVITY_TEXTS for key in keys)
    failed = Activity.objects.get(key="user.sign_in_failure")
    assert failed.target_name == "olivia" and "wrong-password" not in str(failed.parameters)
