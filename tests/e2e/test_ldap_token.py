"""The token endpoint and the web sign-in with an LDAP user of a real slapd: Basic auth, the refresh
token of `docker login`, and the team the group sync gave."""

from __future__ import annotations

import pytest

from tests.token.test_token_endpoint import SERVICE, URL, basic, decode, form

pytestmark = pytest.mark.django_db


def token(client, username: str, password: str, scope: str = "", **params):
    query = {"service": SERVICE, **({"scope": scope} if scope else {}), **params}
    return client.get(URL, query, HTTP_AUTHORIZATION=basic(username, password))


def test_basic_auth_of_an_ldap_user_gets_push_on_their_namespace(client, directory, signing_files):
    response = token(client, "alice", "alice-pw", "repository:alice/app:pull,push")
    assert response.status_code == 200, response.content
    _, claims = decode(response.json(), signing_files)
    assert claims["sub"] == "alice"
    assert claims["access"] == [{"type": "repository", "name": "alice/app", "actions": ["pull", "push"]}]
    # The repeat comes from the credential cache, and grants the same.
    again = token(client, "alice", "alice-pw", "repository:alice/app:pull,push")
    assert decode(again.json(), signing_files)[1]["access"] == claims["access"]


def test_wrong_ldap_password_is_401(client, directory):
    response = token(client, "alice", "wrong", "repository:alice/app:pull")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_docker_login_refresh_token_of_an_ldap_user(client, directory):
    minted = token(client, "bob", "bob-pw", offline_token="true", client_id="docker")
    assert minted.status_code == 200, minted.content
    refresh = minted.json()["refresh_token"]
    response = form(client, {"grant_type": "refresh_token", "refresh_token": refresh, "service": SERVICE,
                             "client_id": "docker", "scope": "repository:bob/app:pull"})
    assert response.status_code == 200, response.content


def test_post_password_grant_of_an_ldap_user(client, directory):
    response = form(client, {"grant_type": "password", "username": "erin", "password": "erin-pw",
                             "service": SERVICE, "client_id": "containerd", "scope": "repository:erin/app:pull"})
    assert response.status_code == 200, response.content


def test_pull_in_a_namespace_of_the_synced_team(client, directory, owner, signing_files):
    from namespaces.services import namespace_create
    from registries.models import Registry
    from teams.services import team_create

    team = team_create(name="developers", owner=owner)
    namespace_create(name="devs", team=team, by=owner, registry=Registry.objects.get())
    response = token(client, "erin", "erin-pw", "repository:devs/app:pull,push")  # through backend ⊃ deep
    _, claims = decode(response.json(), signing_files)
    assert claims["access"] == [{"type": "repository", "name": "devs/app", "actions": ["pull"]}]  # a viewer


def test_web_sign_in_of_an_ldap_user(client, directory):
    response = client.post("/users/sign_in", {"username": "carol", "password": "carol-pw"})
    assert response.status_code == 302, response.content[:500]
    assert client.get("/").status_code == 200
    assert client.session.get("_auth_user_id")
