"""The token endpoint and the API with scoped, expiring, revoked and robot tokens."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.models import ApplicationToken, RefreshToken
from accounts.services import application_token_create, application_token_revoke
from activities.models import Activity
from grants.services import grant_create
from teams.models import Role
from teams.services import team_member_add
from tests.token.test_refresh_tokens import form, mint
from tests.token.test_token_endpoint import SERVICE, URL, access_of, basic, get_token


def token_for(user, *, registry="push", api="write", expires_at=None, name="t"):
    return application_token_create(user=user, application=name, by=user, registry_access=registry,
                                    api_access=api, expires_at=expires_at)


def expire(token: ApplicationToken) -> None:
    ApplicationToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


# --- registry scopes -----------------------------------------------------------------------------


def test_a_pull_only_token_never_pushes_whatever_the_role(client, owner, namespace, signing_files):
    _, plain = token_for(owner, registry="pull", api="none")
    response = get_token(client, user=owner, password=plain, scope="repository:qa/app:pull,push,delete")
    assert access_of(response, signing_files) == {"qa/app": ["pull"]}
    response = get_token(client, user=owner, password=plain, scope="repository:qa/app:*")
    assert access_of(response, signing_files) == {"qa/app": ["pull"]}


def test_a_push_token_gets_what_the_role_allows(client, owner, namespace, signing_files, options):
    options.set("delete.enabled", True)
    _, plain = token_for(owner, registry="push", api="none")
    response = get_token(client, user=owner, password=plain, scope="repository:qa/app:pull,push,delete")
    assert access_of(response, signing_files) == {"qa/app": ["delete", "pull", "push"]}


def test_a_pull_only_token_of_an_admin_gets_no_catalog(client, admin, signing_files):
    _, plain = token_for(admin, registry="pull", api="none")
    response = get_token(client, user=admin, password=plain, scope="registry:catalog:*")
    assert access_of(response, signing_files) == {}


def test_an_api_only_token_is_refused_by_the_registry_login(client, owner, namespace):
    _, plain = token_for(owner, registry="none", api="read")
    response = get_token(client, user=owner, password=plain, scope="repository:qa/app:pull")
    assert response.status_code == 401
    assert "API only" in response.json()["errors"][0]["message"]


def test_refresh_tokens_carry_the_scopes_of_their_token(client, owner, namespace, signing_files):
    _, plain = token_for(owner, registry="pull", api="none")
    refresh = mint(client, owner, password=plain)
    response = form(client, {"grant_type": "refresh_token", "refresh_token": refresh, "service": SERVICE,
                             "scope": "repository:qa/app:pull,push"})
    assert access_of(response, signing_files) == {"qa/app": ["pull"]}


# --- expiry and revocation, on every door ----------------------------------------------------------


@pytest.mark.parametrize("end", ["expired", "revoked"])
def test_an_ended_token_fails_at_once_on_every_door(client, owner, namespace, end):
    token, plain = token_for(owner)
    refresh = mint(client, owner, password=plain)
    api = APIClient()
    assert api.get("/api/v1/teams", HTTP_PORTUS_AUTH=f"{owner.username}:{plain}").status_code == 200
    if end == "expired":
        expire(token)
    else:
        application_token_revoke(token=token, by=owner)
    assert get_token(client, user=owner, password=plain, scope="repository:qa/app:pull").status_code == 401
    assert form(client, {"grant_type": "refresh_token", "refresh_token": refresh,
                         "service": SERVICE}).status_code == 401
    assert api.get("/api/v1/teams", HTTP_PORTUS_AUTH=f"{owner.username}:{plain}").status_code == 401
    assert api.get("/api/v1/teams", HTTP_AUTHORIZATION=basic(owner.username, plain)).status_code == 401
    assert api.get("/api/v1/teams", HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 401


# --- the API's scopes ------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["portus", "basic", "bearer"])
def test_an_api_read_token_reads_and_may_not_write(owner, namespace, header):
    _, plain = token_for(owner, registry="none", api="read")
    headers = {"portus": {"HTTP_PORTUS_AUTH": f"{owner.username}:{plain}"},
               "basic": {"HTTP_AUTHORIZATION": basic(owner.username, plain)},
               "bearer": {"HTTP_AUTHORIZATION": f"Bearer {plain}"}}[header]
    api = APIClient()
    assert api.get("/api/v1/namespaces", **headers).status_code == 200
    response = api.post("/api/v1/teams", {"name": "new-team"}, format="json", **headers)
    assert response.status_code == 403
    assert "read-only" in response.json()["message"]


def test_a_registry_only_token_may_not_use_the_api(owner):
    _, plain = token_for(owner, registry="push", api="none")
    response = APIClient().get("/api/v1/namespaces", HTTP_PORTUS_AUTH=f"{owner.username}:{plain}")
    assert response.status_code == 401
    assert "no API access" in response.json()["message"]


def test_a_token_cannot_mint_a_wider_token(owner):
    _, plain = token_for(owner, registry="pull", api="write", expires_at=timezone.now() + timedelta(days=5))
    api = APIClient()
    api.credentials(HTTP_PORTUS_AUTH=f"{owner.username}:{plain}")
    url = f"/api/v1/users/{owner.pk}/application_tokens"
    assert api.post(url, {"application": "wider", "scopes": ["registry:push"], "expires_in_days": 1},
                    format="json").status_code == 403
    assert api.post(url, {"application": "forever", "scopes": ["registry:pull"]}, format="json").status_code == 403
    created = api.post(url, {"application": "narrow", "scopes": ["registry:pull"], "expires_in_days": 1},
                       format="json")
    assert created.status_code == 201
    assert created.json()["scopes"] == ["registry:pull"]


def test_tokens_show_scopes_expiry_and_last_use(owner):
    token, plain = token_for(owner, registry="pull", api="read", expires_at=timezone.now() + timedelta(days=90))
    api = APIClient()
    api.credentials(HTTP_PORTUS_AUTH=f"{owner.username}:{plain}", REMOTE_ADDR="192.0.2.7")
    rows = api.get(f"/api/v1/users/{owner.pk}/application_tokens").json()
    assert rows[0]["scopes"] == ["registry:pull", "api:read"]
    assert rows[0]["expires_at"] and rows[0]["created_by"] == owner.username
    assert rows[0]["last_used_from"] == "192.0.2.7" and rows[0]["last_used_at"]


# --- last use and its address -----------------------------------------------------------------------


def test_use_from_a_new_address_is_recorded_at_most_once_a_minute(client, owner, namespace, monkeypatch):
    token, plain = token_for(owner)
    headers = {"HTTP_AUTHORIZATION": basic(owner.username, plain)}
    client.get(URL, {"service": SERVICE}, REMOTE_ADDR="192.0.2.1", **headers)
    client.get(URL, {"service": SERVICE}, REMOTE_ADDR="192.0.2.2", **headers)  # within the minute: not written
    token.refresh_from_db()
    assert token.last_used_from == "192.0.2.1"
    # Two minutes on (the token endpoint remembers the token it found, with its last use: realm/decisions.py).
    later = timezone.now() + timedelta(minutes=2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    client.get(URL, {"service": SERVICE}, REMOTE_ADDR="192.0.2.2", **headers)
    token.refresh_from_db()
    assert token.last_used_from == "192.0.2.2"
    seen = list(Activity.objects.filter(key="application_token.new_address").order_by("id")
                .values_list("parameters", flat=True))
    assert [(p["address"], p["previous"]) for p in seen] == [("192.0.2.1", ""), ("192.0.2.2", "192.0.2.1")]


# --- robots at the token endpoint -------------------------------------------------------------------


def test_a_robot_token_pushes_into_its_namespace_only(client, namespace, owner, team, signing_files,
                                                      other_namespace):
    from accounts.robots import robot_create

    robot = robot_create(name="ci", namespace=namespace, by=owner)
    team_member_add(team=team, user=robot, role=Role.CONTRIBUTOR, by=owner)
    _, plain = application_token_create(user=robot, application="ci", by=owner)
    response = get_token(client, user=robot, password=plain, scope="repository:qa/app:pull,push")
    assert access_of(response, signing_files) == {"qa/app": ["pull", "push"]}
    response = get_token(client, user=robot, password=plain, scope="repository:web/app:pull,push")
    assert access_of(response, signing_files) == {}


def test_a_robot_of_a_retired_namespace_is_refused(client, namespace, owner, admin):
    from accounts.robots import robot_create
    from namespaces.retirement import namespace_retire

    robot = robot_create(name="ci", namespace=namespace, by=owner)
    _, plain = application_token_create(user=robot, application="ci", by=owner)
    assert get_token(client, user=robot, password=plain).status_code == 200
    namespace_retire(namespace=namespace, by=admin, former_owner="team qa")
    response = get_token(client, user=robot, password=plain)
    assert response.status_code == 401
    assert "disabled" in response.json()["errors"][0]["message"]


def test_a_robot_has_no_password_login(client, namespace, owner):
    from accounts.robots import robot_create

    robot = robot_create(name="ci", namespace=namespace, by=owner)
    assert get_token(client, user=robot, password="anything").status_code == 401


def test_a_robot_grant_pushes_one_repository(client, namespace, owner, signing_files):
    from accounts.robots import robot_create

    robot = robot_create(name="ci", namespace=namespace, by=owner)
    grant_create(namespace=namespace, pattern="app", permission="push", by=owner, user=robot)
    _, plain = application_token_create(user=robot, application="ci", by=owner)
    response = get_token(client, user=robot, password=plain,
                         scope=["repository:qa/app:pull,push", "repository:qa/other:pull,push"])
    assert access_of(response, signing_files) == {"qa/app": ["pull", "push"]}


# --- hostile credentials: no 5xx, no push granted -----------------------------------------------------


@pytest.fixture
def credential_kinds(namespace, owner, team):
    """Credentials that must never push into qa: pull-only, expired, revoked, a robot's pull-only token, a
    robot of a retired namespace's neighbour… and one that may, to show the test can tell."""
    from accounts.robots import robot_create

    kinds = {}
    _, kinds["pull-only"] = token_for(owner, registry="pull", api="none", name="pull")
    expired, kinds["expired"] = token_for(owner, name="expired")
    expire(expired)
    revoked, kinds["revoked"] = token_for(owner, name="revoked")
    application_token_revoke(token=revoked, by=owner)
    _, kinds["api-only"] = token_for(owner, registry="none", api="write", name="api")
    robot = robot_create(name="ci", namespace=namespace, by=owner)
    team_member_add(team=team, user=robot, role=Role.CONTRIBUTOR, by=owner)
    _, kinds["robot-pull-only"] = application_token_create(user=robot, application="ci", by=owner,
                                                           registry_access="pull", api_access="none")
    _, kinds["robot-push"] = application_token_create(user=robot, application="push", by=owner)
    return {"owner": owner, "robot": robot, "secrets": kinds}


@given(kind=st.sampled_from(["pull-only", "expired", "revoked", "api-only", "robot-pull-only", "robot-push"]),
       as_robot=st.booleans(), method=st.sampled_from(["GET", "POST"]),
       actions=st.lists(st.sampled_from(["pull", "push", "delete", "*", "x"]), min_size=1, max_size=4),
       name=st.sampled_from(["qa/app", "qa/a/b", "web/app", "app", "qa/" + "x" * 300, "QA/app", "qa//app"]),
       noise=st.text(max_size=20))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_token_endpoint_never_errs_and_never_grants_push_to_a_limited_credential(
        client, credential_kinds, signing_files, kind, as_robot, method, actions, name, noise):
    secret = credential_kinds["secrets"][kind]
    if as_robot != kind.startswith("robot"):
        secret += noise  # the wrong secret for the name, or a mangled one
    username = credential_kinds["robot" if as_robot else "owner"].username
    scope = f"repository:{name}:{','.join(actions)}"
    if method == "GET":
        response = client.get(URL, {"service": SERVICE, "scope": scope},
                              HTTP_AUTHORIZATION="Basic " + base64.b64encode(
                                  f"{username}:{secret}".encode("utf-8", "surrogatepass")).decode())
    else:
        response = form(client, {"grant_type": "password", "username": username, "password": secret,
                                 "service": SERVICE, "scope": scope})
    assert response.status_code < 500
    if response.status_code != 200:
        assert response.status_code in (400, 401, 429)
        return
    granted = access_of(response, signing_files)
    pushed = {repo for repo, acts in granted.items() if "push" in acts or "*" in acts}
    if kind == "robot-push" and as_robot:
        # The one credential here that may push: only inside the robot's namespace.
        assert pushed <= {"qa/app", "qa/a/b"}
    else:
        assert kind in ("pull-only", "robot-pull-only", "robot-push")  # the others never get a token
        assert pushed == set()


def test_refresh_tokens_of_an_expired_token_end_with_it(client, owner, namespace):
    token, plain = token_for(owner)
    mint(client, owner, password=plain)
    assert RefreshToken.objects.of_user(owner).count() == 1
    expire(token)
    assert RefreshToken.objects.of_user(owner).count() == 0
