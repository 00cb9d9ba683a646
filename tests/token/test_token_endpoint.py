"""/v2/token: every branch of PROTOCOL.md §2."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import jwt
import pytest
from cryptography import x509
from django.utils import timezone

from accounts.models import RefreshToken, User
from accounts.services import application_token_create, application_token_revoke, user_update
from namespaces.models import Namespace
from tests.conftest import PASSWORD

SERVICE = "registry.test.lan:5000"
URL = "/v2/token"


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def get_token(client, *, user=None, password=PASSWORD, scope=None, **params):
    query = {"service": SERVICE, **params}
    if scope is not None:
        query["scope"] = scope
    headers = {"HTTP_AUTHORIZATION": basic(user.username, password)} if user else {}
    return client.get(URL, query, **headers)


def decode(body: dict, signing_files) -> tuple[dict, dict]:
    cert = x509.load_pem_x509_certificate(signing_files[1].read_bytes())
    header = jwt.get_unverified_header(body["token"])
    claims = jwt.decode(body["token"], cert.public_key(), algorithms=["RS256", "ES256"], audience=SERVICE)
    return header, claims


def access_of(response, signing_files) -> dict[str, list[str]]:
    assert response.status_code == 200, response.content
    _, claims = decode(response.json(), signing_files)
    return {entry["name"]: entry["actions"] for entry in claims["access"]}


# --- the response itself -----------------------------------------------------------------------


def test_login_without_scope_answers_200_with_no_access(client, owner, signing_files):
    response = get_token(client, user=owner, account="olivia", client_id="docker")
    assert response.status_code == 200
    body = response.json()
    assert body["token"] == body["access_token"]
    assert isinstance(body["expires_in"], int) and body["expires_in"] >= 60
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["issued_at"])
    assert "refresh_token" not in body
    header, claims = decode(body, signing_files)
    assert claims["access"] == []
    assert claims["sub"] == "olivia"
    assert claims["iss"] == "portus.test.lan"
    assert claims["aud"] == SERVICE and isinstance(claims["aud"], str)
    assert all(isinstance(claims[k], int) for k in ("exp", "nbf", "iat"))
    assert claims["nbf"] < claims["iat"] < claims["exp"]
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]
    assert response["Cache-Control"] == "no-store"


def test_header_has_libtrust_kid_and_x5c_of_the_certificate(client, owner, signing_files):
    from realm.keys import libtrust_key_id

    header, _ = decode(get_token(client, user=owner).json(), signing_files)
    cert = x509.load_pem_x509_certificate(signing_files[1].read_bytes())
    assert header["alg"] == "RS256"
    assert header["kid"] == libtrust_key_id(cert.public_key())
    der = base64.b64decode(header["x5c"][0])
    assert x509.load_der_x509_certificate(der) == cert


def test_lifetime_follows_the_option(client, owner, options, signing_files):
    options.set("registry.jwt_expiration_time.value", 30)
    body = get_token(client, user=owner).json()
    _, claims = decode(body, signing_files)
    assert claims["exp"] - claims["iat"] == 1800
    assert body["expires_in"] == 1800


@pytest.mark.parametrize(
    ("actor", "scope", "minutes"),
    [
        ("contributor", "repository:qa/app:push,pull", 60),  # an upload: the push lifetime
        ("contributor", "repository:qa/app:pull", 5),
        ("viewer", "repository:qa/app:push,pull", 5),  # asked for push, granted pull only
        ("anonymous", "repository:qa/app:pull", 5),
        ("contributor", None, 5),  # a login
    ],
)
def test_tokens_that_grant_push_live_for_the_push_lifetime(client, request, namespace, options, signing_files,
                                                           actor, scope, minutes):
    options.set("registry.jwt_expiration_time_push.value", 60)
    user = None if actor == "anonymous" else request.getfixturevalue(actor)
    body = get_token(client, user=user, scope=scope).json()
    _, claims = decode(body, signing_files)
    assert claims["exp"] - claims["iat"] == minutes * 60
    assert body["expires_in"] == minutes * 60


def test_push_tokens_are_as_short_as_any_by_default(client, contributor, namespace, signing_files):
    body = get_token(client, user=contributor, scope="repository:qa/app:push,pull").json()
    _, claims = decode(body, signing_files)
    assert claims["access"][0]["actions"] == ["pull", "push"]
    assert claims["exp"] - claims["iat"] == 300 == body["expires_in"]


# --- who gets what ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("admin", ["pull", "push"]),
        ("owner", ["pull", "push"]),
        ("contributor", ["pull", "push"]),
        ("bot", ["pull", "push"]),
        ("viewer", ["pull"]),
        ("outsider", None),
        ("anonymous", None),
    ],
)
def test_push_pull_on_private_team_namespace(client, request, namespace, signing_files, actor, expected):
    user = None if actor == "anonymous" else request.getfixturevalue(actor)
    access = access_of(get_token(client, user=user, scope="repository:qa/app:push,pull"), signing_files)
    assert access.get("qa/app") == expected


def test_anonymous_pulls_public_namespace_only(client, namespace, signing_files):
    namespace.visibility = "public"
    namespace.save()
    access = access_of(get_token(client, scope="repository:qa/app:pull,push"), signing_files)
    assert access == {"qa/app": ["pull"]}
    _, claims = decode(get_token(client, scope="repository:qa/app:pull").json(), signing_files)
    assert claims["sub"] == ""


def test_scopes_for_one_repository_are_merged(client, owner, namespace, options, signing_files):
    options.set("delete.enabled", True)
    response = client.get(URL, {"service": SERVICE, "scope": ["repository:qa/app:push,pull",
                                                               "repository:qa/app:delete"]},
                          HTTP_AUTHORIZATION=basic("olivia", PASSWORD))
    _, claims = decode(response.json(), signing_files)
    assert claims["access"] == [{"type": "repository", "name": "qa/app", "actions": ["delete", "pull", "push"]}]


def test_space_joined_scopes_of_go_containerregistry(client, owner, namespace, signing_files):
    scope = "repository:qa/app:pull,push repository:olivia/base:pull"
    access = access_of(get_token(client, user=owner, scope=scope), signing_files)
    assert access == {"qa/app": ["pull", "push"], "olivia/base": ["pull"]}


def test_cross_repository_mount_source_needs_pull(client, contributor, owner, namespace, signing_files):
    scope = "repository:qa/app:pull,push repository:olivia/secret:pull"
    access = access_of(get_token(client, user=contributor, scope=scope), signing_files)
    assert access == {"qa/app": ["pull", "push"]}


def test_star_scope_for_skopeo_delete(client, owner, namespace, options, signing_files):
    options.set("delete.enabled", True)
    access = access_of(get_token(client, user=owner, scope="repository:qa/app:*"), signing_files)
    assert access == {"qa/app": ["*", "delete", "pull", "push"]}


def test_star_scope_without_delete_grants_what_is_allowed(client, contributor, namespace, signing_files):
    access = access_of(get_token(client, user=contributor, scope="repository:qa/app:*"), signing_files)
    assert access == {"qa/app": ["pull", "push"]}


def test_delete_needs_the_option(client, owner, namespace, signing_files):
    access = access_of(get_token(client, user=owner, scope="repository:qa/app:delete,pull"), signing_files)
    assert access == {"qa/app": ["pull"]}


def test_catalog_scope_only_for_admins(client, admin, owner, internal_account, signing_files):
    assert access_of(get_token(client, user=admin, scope="registry:catalog:*"), signing_files) == {
        "catalog": ["*"]}
    assert access_of(get_token(client, user=owner, scope="registry:catalog:*"), signing_files) == {}
    internal = get_token(client, user=internal_account, password="portus-internal-password",
                         scope="registry:catalog:*")
    assert access_of(internal, signing_files) == {"catalog": ["*"]}


def test_plugin_class_is_kept(client, owner, signing_files):
    body = get_token(client, user=owner, scope="repository(plugin):olivia/plug:pull").json()
    _, claims = decode(body, signing_files)
    assert claims["access"] == [{"type": "repository", "class": "plugin", "name": "olivia/plug",
                                 "actions": ["pull"]}]


def test_garbage_scopes_are_dropped_not_errors(client, owner, signing_files):
    response = get_token(client, user=owner, scope="nonsense ::: repository:olivia/app:fly,pull registry:x:y")
    assert access_of(response, signing_files) == {"olivia/app": ["pull"]}


def test_global_namespace_push_for_admins_only(client, admin, owner, signing_files):
    assert access_of(get_token(client, user=admin, scope="repository:busybox:push,pull"), signing_files) == {
        "busybox": ["pull", "push"]}
    assert access_of(get_token(client, user=owner, scope="repository:busybox:push,pull"), signing_files) == {
        "busybox": ["pull"]}


# --- namespaces that do not exist yet -----------------------------------------------------------


def test_admin_push_creates_the_namespace(client, admin, registry, signing_files):
    access = access_of(get_token(client, user=admin, scope="repository:newproject/app:push,pull"), signing_files)
    assert access == {"newproject/app": ["pull", "push"]}
    ns = Namespace.objects.get(registry=registry, name="newproject")
    assert ns.team.personal_of == admin
    assert ns.visibility == "private"


def test_admin_pull_does_not_create_a_namespace(client, admin, registry, signing_files):
    access = access_of(get_token(client, user=admin, scope="repository:ghost/app:pull"), signing_files)
    assert access == {"ghost/app": ["pull"]}
    assert not Namespace.objects.filter(name="ghost").exists()


def test_user_push_to_unknown_namespace_is_refused(client, owner, registry, signing_files):
    access = access_of(get_token(client, user=owner, scope="repository:elsewhere/app:push,pull"), signing_files)
    assert access == {}
    assert not Namespace.objects.filter(name="elsewhere").exists()


# --- credentials --------------------------------------------------------------------------------


def assert_unauthorized(response):
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert response["WWW-Authenticate"].startswith("Basic realm=")


def test_wrong_password_is_401_json(client, owner):
    assert_unauthorized(get_token(client, user=owner, password="wrong", scope="repository:olivia/a:pull"))


def test_unknown_user_is_401(client, registry):
    response = client.get(URL, {"service": SERVICE}, HTTP_AUTHORIZATION=basic("nobody", "x"))
    assert_unauthorized(response)


@pytest.mark.parametrize("header", ["Basic !!!notbase64", "Basic " + base64.b64encode(b"nocolon").decode(),
                                    "Bearer abc", "Basic " + base64.b64encode(b"\xff\xfe:x").decode()])
def test_malformed_authorization_is_401(client, registry, header):
    assert_unauthorized(client.get(URL, {"service": SERVICE}, HTTP_AUTHORIZATION=header))


def test_disabled_account_is_401(client, owner, admin):
    user_update(user=owner, by=admin, enabled=False)
    assert_unauthorized(get_token(client, user=owner))


def test_lockout_after_repeated_failures(client, owner, options):
    options.set("lockout.max_attempts", 3)
    for _ in range(3):
        assert_unauthorized(get_token(client, user=owner, password="wrong"))
    response = get_token(client, user=owner)
    assert_unauthorized(response)
    assert "locked" in response.json()["errors"][0]["message"]
    owner.refresh_from_db()
    assert owner.locked_until > timezone.now() + timedelta(minutes=9)


def test_lock_expires(client, owner):
    User.objects.filter(pk=owner.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert get_token(client, user=owner).status_code == 200


def test_application_token_as_password(client, owner, namespace, signing_files):
    token, plain = application_token_create(user=owner, application="ci", by=owner)
    access = access_of(get_token(client, user=owner, password=plain, scope="repository:qa/app:pull"),
                       signing_files)
    assert access == {"qa/app": ["pull"]}
    application_token_revoke(token=token, by=owner)
    assert_unauthorized(get_token(client, user=owner, password=plain))


def test_application_token_of_another_user_is_refused(client, owner, contributor):
    _, plain = application_token_create(user=owner, application="ci", by=owner)
    assert_unauthorized(get_token(client, user=contributor, password=plain))


def test_repeated_password_logins_hash_once(client, owner, monkeypatch):
    calls = []
    original = User.check_password

    def counting(self, raw):
        calls.append(raw)
        return original(self, raw)

    monkeypatch.setattr(User, "check_password", counting)
    for _ in range(5):
        assert get_token(client, user=owner).status_code == 200
    assert len(calls) == 1


def test_password_change_misses_the_cache(client, owner, admin):
    assert get_token(client, user=owner).status_code == 200
    user_update(user=owner, by=admin, password="another-good-password")
    assert_unauthorized(get_token(client, user=owner))
    assert get_token(client, user=owner, password="another-good-password").status_code == 200


def test_disabling_misses_the_cache(client, owner, admin):
    assert get_token(client, user=owner).status_code == 200
    user_update(user=owner, by=admin, enabled=False)
    assert_unauthorized(get_token(client, user=owner))


def test_account_parameter_is_not_trusted(client, owner, admin, namespace, signing_files):
    response = get_token(client, user=owner, account="admin", scope="registry:catalog:*")
    _, claims = decode(response.json(), signing_files)
    assert claims["sub"] == "olivia"
    assert claims["access"] == []


# --- services -----------------------------------------------------------------------------------


def test_unknown_service_is_401(client, owner):
    response = client.get(URL, {"service": "elsewhere:5000"}, HTTP_AUTHORIZATION=basic("olivia", PASSWORD))
    assert_unauthorized(response)


def test_external_hostname_names_the_registry_but_the_audience_is_its_host_name(client, owner, registry,
                                                                                 signing_files):
    """The registry's auth.token.service is its host name (README); a client naming it by its external
    name still gets a token, for the audience the registry checks."""
    registry.external_hostname = "registry.example.org"
    registry.save()
    response = client.get(URL, {"service": "registry.example.org", "scope": "repository:olivia/a:pull"},
                          HTTP_AUTHORIZATION=basic("olivia", PASSWORD))
    assert response.status_code == 200
    _, claims = decode(response.json(), signing_files)
    assert claims["aud"] == SERVICE
    assert claims["access"][0]["name"] == "olivia/a"


@pytest.mark.parametrize("service", [" registry.test.lan:5000 ", "REGISTRY.Test.LAN:5000", "registry.test.lan:5000\t"])
def test_audience_is_the_canonical_host_name_not_the_raw_service(client, owner, signing_files, service):
    response = client.get(URL, {"service": service, "scope": "repository:olivia/a:pull"},
                          HTTP_AUTHORIZATION=basic("olivia", PASSWORD))
    assert response.status_code == 200
    _, claims = decode(response.json(), signing_files)
    assert claims["aud"] == SERVICE


# --- OAuth2 POST --------------------------------------------------------------------------------


def post(client, **data):
    return client.post(URL, data, content_type="application/x-www-form-urlencoded")


def form(client, data):
    from urllib.parse import urlencode

    return client.post(URL, urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded")


def test_post_password_grant_of_containerd(client, contributor, namespace, signing_files):
    response = form(client, {"grant_type": "password", "username": "carl", "password": PASSWORD,
                             "service": SERVICE, "client_id": "containerd-client",
                             "scope": "repository:qa/app:pull,push"})
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"] == body["token"]
    assert "refresh_token" not in body
    assert access_of(response, signing_files) == {"qa/app": ["pull", "push"]}


def test_post_scopes_repeated_or_space_joined(client, owner, namespace, signing_files):
    repeated = form(client, {"grant_type": "password", "username": "olivia", "password": PASSWORD,
                             "service": SERVICE, "scope": ["repository:qa/a:pull", "repository:qa/b:pull"]})
    joined = form(client, {"grant_type": "password", "username": "olivia", "password": PASSWORD,
                           "service": SERVICE, "scope": "repository:qa/a:pull repository:qa/b:pull"})
    assert access_of(repeated, signing_files) == access_of(joined, signing_files) == {
        "qa/a": ["pull"], "qa/b": ["pull"]}


def test_post_wrong_password_is_401(client, owner):
    response = form(client, {"grant_type": "password", "username": "olivia", "password": "nope",
                             "service": SERVICE})
    assert_unauthorized(response)


def test_offline_token_and_refresh_grant(client, owner, namespace, admin, signing_files):
    response = get_token(client, user=owner, offline_token="true", client_id="docker")
    refresh = response.json()["refresh_token"]
    assert refresh and RefreshToken.objects.filter(user=owner).count() == 1
    assert not RefreshToken.objects.filter(digest=refresh).exists()  # stored hashed
    for _ in range(2):  # reusable, not rotated
        again = form(client, {"grant_type": "refresh_token", "refresh_token": refresh, "service": SERVICE,
                              "client_id": "docker", "scope": "repository:qa/app:pull"})
        assert again.status_code == 200
        assert "refresh_token" not in again.json()
        assert access_of(again, signing_files) == {"qa/app": ["pull"]}
    user_update(user=owner, by=admin, enabled=False)
    dead = form(client, {"grant_type": "refresh_token", "refresh_token": refresh, "service": SERVICE})
    assert_unauthorized(dead)


def test_post_access_type_offline(client, owner):
    response = form(client, {"grant_type": "password", "username": "olivia", "password": PASSWORD,
                             "service": SERVICE, "access_type": "offline"})
    assert response.json()["refresh_token"].startswith("prt_")


def test_revoked_refresh_token_is_401(client, owner):
    from accounts.services import refresh_token_revoke

    refresh = get_token(client, user=owner, offline_token="true").json()["refresh_token"]
    refresh_token_revoke(token=RefreshToken.objects.get(user=owner), by=owner)
    assert_unauthorized(form(client, {"grant_type": "refresh_token", "refresh_token": refresh,
                                      "service": SERVICE}))


def test_unsupported_grant_is_404_json(client, registry):
    response = form(client, {"grant_type": "client_credentials", "service": SERVICE})
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "UNSUPPORTED"


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_404_json(client, registry, method):
    response = getattr(client, method)(URL)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_anonymous_post_refresh_with_garbage_is_401(client, registry):
    assert_unauthorized(form(client, {"grant_type": "refresh_token", "refresh_token": "x" * 5000,
                                      "service": SERVICE}))


def test_application_token_with_a_non_ascii_user_name_is_401(client, owner):
    _, plain = application_token_create(user=owner, application="ci", by=owner)
    header = "Basic " + base64.b64encode(f"olívia:{plain}".encode()).decode()
    assert_unauthorized(client.get(URL, {"service": SERVICE}, HTTP_AUTHORIZATION=header))


def test_application_token_of_a_disabled_user_is_401(client, owner, admin):
    _, plain = application_token_create(user=owner, application="ci", by=owner)
    user_update(user=owner, by=admin, enabled=False)
    assert_unauthorized(get_token(client, user=owner, password=plain))
