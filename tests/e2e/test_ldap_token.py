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


class TestRememberedByTheRealm:
    """Through the product's WSGI application (the short way, with the realm's memory): a repeated LDAP
    login is remembered while its bind is, and each way the directory's answer is dropped also drops
    what the realm remembers, at the next request."""

    PUSH = "repository:alice/app:pull,push"

    @pytest.fixture
    def wsgi(self):
        from tests.wsgi_client import WsgiClient

        return WsgiClient()

    def _status(self, wsgi, password: str) -> int:
        return token(wsgi, "alice", password, self.PUSH).status_code

    def test_a_repeat_reads_only_the_generation(self, wsgi, directory):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from tests.token.test_decision_cache import _tables

        assert self._status(wsgi, "alice-pw") == 200  # the bind
        assert self._status(wsgi, "alice-pw") == 200  # from the LDAP cache: remembered now
        with CaptureQueriesContext(connection) as captured:
            assert self._status(wsgi, "alice-pw") == 200
        assert _tables([q["sql"] for q in captured.captured_queries]) == {"realm_authorization_generation"}

    def test_a_failed_bind_ends_the_remembered_password_at_the_next_request(self, wsgi, directory):
        assert self._status(wsgi, "alice-pw") == 200
        assert self._status(wsgi, "alice-pw") == 200
        directory.set_password("alice", "alice-changed-pw")
        try:
            assert self._status(wsgi, "alice-pw") == 200  # within the cache's time, as without the realm's memory
            assert self._status(wsgi, "a-wrong-guess") == 401
            assert self._status(wsgi, "alice-pw") == 401
            assert self._status(wsgi, "alice-changed-pw") == 200
        finally:
            directory.set_password("alice", "alice-pw")

    def test_a_new_password_ends_the_old_one(self, wsgi, directory):
        assert self._status(wsgi, "alice-pw") == 200
        assert self._status(wsgi, "alice-pw") == 200
        directory.set_password("alice", "alice-second-pw")
        try:
            assert self._status(wsgi, "alice-second-pw") == 200  # a bind with the new one
            assert self._status(wsgi, "alice-pw") == 401
        finally:
            directory.set_password("alice", "alice-pw")

    def test_remembered_no_longer_than_the_bind(self, wsgi, directory, options):
        import time

        from realm import decisions

        options.set("ldap.credential_cache.seconds", 60)
        before = time.time()
        assert self._status(wsgi, "alice-pw") == 200
        _, until, (user, _) = decisions.credentials._entries[decisions.credential_key("alice", "alice-pw")]
        assert user.username == "alice" and before < until <= time.time() + 60
