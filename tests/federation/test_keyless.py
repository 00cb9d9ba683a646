"""Keyless CI logins through accounts.credentials.verify and /v2/token, with tokens signed by a key of the
test's own (its JWKS handed to the cache): every check of federation/keyless.py, and hostile tokens.
The same flows against a real provider: tests/e2e/test_keyless_login.py."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import credentials
from accounts.models import User
from activities.models import Activity
from federation import jwks, keyless
from federation.jwks import IssuerKey
from federation.models import TrustPolicy

ISSUER = "https://ci.example.test"
AUDIENCE = "https://portus.test.lan"  # https://<machine_fqdn>
RULE = 'repository == "acme/app" and ref == "refs/heads/main"'
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def keys(monkeypatch):
    """The issuer's JWKS: kid `rsa` (RS256) and `ec` (ES256); counts how often it is read."""
    reads = []

    def fetch(issuer):
        reads.append(issuer)
        if issuer != ISSUER:
            raise jwks.KeysUnavailable("no such issuer")
        return {"rsa": IssuerKey(RSA_KEY.public_key(), "RSA", "RS256"), "ec": IssuerKey(EC_KEY.public_key(), "EC", "")}

    monkeypatch.setattr(jwks, "fetch_keys", fetch)
    jwks.forget()
    yield reads
    jwks.forget()


@pytest.fixture
def robot(db, registry, options, keys):
    options.set("keyless.issuers", ISSUER)
    robot = User(username="robot$ci", bot=True)
    robot.set_unusable_password()
    robot.save()
    TrustPolicy.objects.create(robot=robot, issuer=ISSUER, rules=RULE)
    return robot


def mint(claims: dict | None = None, *, key=RSA_KEY, alg="RS256", kid="rsa", **headers) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "repo:acme/app:ref:refs/heads/main", "iat": now, "nbf": now,
            "exp": now + 300, "repository": "acme/app", "ref": "refs/heads/main", **(claims or {})}
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid, **headers})


def login(token: str, username: str = "robot$ci"):
    return credentials.verify(username, token, address="203.0.113.9")


def test_a_matching_token_logs_the_robot_in(robot):
    result = login(mint())
    assert result.ok and result.user == robot and result.user.keyless_login
    assert Activity.objects.filter(key="trust_policy.use", owner=robot).count() == 1
    assert TrustPolicy.objects.get().last_used_at is not None
    login(mint())  # a second login within the minute: no second audit record
    assert Activity.objects.filter(key="trust_policy.use").count() == 1


def test_es256_and_a_list_audience(robot):
    assert login(mint({"aud": ["other", AUDIENCE]}, key=EC_KEY, alg="ES256", kid="ec")).ok


@pytest.mark.parametrize(("claims", "why"), [
    ({"ref": "refs/heads/dev"}, "do not match the trust policies"),
    ({"repository": None}, "do not match the trust policies"),
    ({"aud": "https://elsewhere"}, "another audience: request it for 'https://portus.test.lan'"),
    ({"iss": "https://other.test"}, "No trust policy of robot$ci accepts tokens from the issuer"),
    ({"exp": lambda: int(time.time()) - 120}, "has expired"),
    ({"nbf": lambda: int(time.time()) + 600}, "not valid yet"),
    ({"iat": lambda: int(time.time()) + 600}, "not valid yet"),
    ({"exp": None}, "has no 'exp' claim"),
    ({"iat": None}, "has no 'iat' claim"),
    ({"exp": lambda: int(time.time()) + 3 * 86400}, "longer than a day"),
])
def test_wrong_claims_are_refused_with_the_reason(robot, claims, why):
    # Times are read when the test runs, not when the suite is collected (a long run outlives them).
    claims = {name: value() if callable(value) else value for name, value in claims.items()}
    result = login(mint(claims))
    assert not result.ok and result.failure is credentials.Failure.INVALID
    assert why in result.message, result.message


def test_an_issuer_the_instance_does_not_list_is_refused(robot, options):
    options.set("keyless.issuers", "https://token.actions.githubusercontent.com")
    assert "not among this Portus's keyless.issuers" in login(mint()).message


def test_a_disabled_policy_or_robot(robot):
    TrustPolicy.objects.update(enabled=False)
    assert login(mint()).failure is credentials.Failure.INVALID  # no policy: an ordinary wrong password
    TrustPolicy.objects.update(enabled=True)
    User.objects.filter(pk=robot.pk).update(enabled=False)
    assert login(mint()).failure is credentials.Failure.DISABLED


def _forge(alg: str, secret: bytes, claims: dict) -> str:
    def b64(data) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    import hashlib
    import hmac

    signing_input = f"{b64({'alg': alg, 'kid': 'rsa'})}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if alg.startswith("HS") else b""
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode() or 'x'}"


def test_algorithm_confusion_is_refused(robot):
    from cryptography.hazmat.primitives import serialization

    pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    claims = jwt.decode(mint(), options={"verify_signature": False})
    assert "'HS256' is not accepted" in login(_forge("HS256", pem, claims)).message
    assert "'none' is not accepted" in login(_forge("none", b"", claims)).message
    # An RSA kid with an EC algorithm (or the other way round): refused before any verification.
    assert "does not fit the issuer's key" in login(mint(key=EC_KEY, alg="ES256", kid="rsa")).message
    assert "does not fit the issuer's key" in login(mint(alg="PS256", kid="ec")).message


@pytest.mark.parametrize("part", [0, 1])
def test_json_nested_thousands_deep_is_a_malformed_token(robot, part):
    deep = base64.urlsafe_b64encode(b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}").rstrip(b"=").decode()
    parts = mint().split(".")
    parts[part] = deep
    token = ".".join(parts)
    assert keyless.looks_like_jwt(token)
    result = login(token)
    assert not result.ok and "malformed" in result.message


def test_a_token_signed_by_another_key_is_refused(robot):
    assert "signature does not verify" in login(mint(key=OTHER_KEY)).message


def test_an_unknown_kid_reads_the_keys_again_at_most_once_per_period(robot, keys, monkeypatch):
    assert login(mint()).ok
    assert keys == [ISSUER]
    for _ in range(5):  # the keys were read a moment ago: no new read for a made-up kid
        assert "publishes no key" in login(mint(kid="rotated")).message
    assert keys == [ISSUER]
    later = time.monotonic() + 31  # keyless.jwks_refetch_seconds later
    monkeypatch.setattr(jwks.time, "monotonic", lambda: later)
    for _ in range(20):
        assert "publishes no key" in login(mint(kid="rotated")).message
    assert keys == [ISSUER, ISSUER]  # one read for the unknown kid, then none within the period
    assert login(mint()).ok


def test_keys_are_read_again_after_their_ttl(robot, keys, monkeypatch):
    assert login(mint()).ok
    now = time.monotonic()
    monkeypatch.setattr(jwks.time, "monotonic", lambda: now + 601)
    assert login(mint()).ok
    assert keys == [ISSUER, ISSUER]


def test_unreadable_keys_are_refused_clearly(robot, monkeypatch):
    def down(issuer):
        raise jwks.KeysUnavailable("connection refused")

    monkeypatch.setattr(jwks, "fetch_keys", down)
    jwks.forget()
    assert "cannot be read just now" in login(mint()).message


def test_the_token_endpoint_answers_401_with_the_reason_and_no_refresh_token(robot, namespace, owner, client):
    from teams.models import Role
    from teams.services import team_member_add

    team_member_add(team=namespace.team, user=robot, role=Role.CONTRIBUTOR, by=owner)
    auth = "Basic " + base64.b64encode(f"robot$ci:{mint()}".encode()).decode()
    ok = client.get("/v2/token", {"service": "registry.test.lan:5000", "scope": "repository:qa/app:push,pull",
                                  "offline_token": "true", "client_id": "docker"}, HTTP_AUTHORIZATION=auth)
    assert ok.status_code == 200, ok.content
    assert "refresh_token" not in ok.json()
    granted = jwt.decode(ok.json()["token"], options={"verify_signature": False})["access"]
    assert granted == [{"type": "repository", "name": "qa/app", "actions": ["push", "pull"]}] or \
        granted == [{"type": "repository", "name": "qa/app", "actions": ["pull", "push"]}]
    bad = "Basic " + base64.b64encode(f"robot$ci:{mint({'ref': 'refs/heads/x'})}".encode()).decode()
    refused = client.get("/v2/token", {"service": "registry.test.lan:5000"}, HTTP_AUTHORIZATION=bad)
    assert refused.status_code == 401
    assert "do not match" in refused.json()["errors"][0]["message"]


def test_a_failed_keyless_login_counts_against_the_address(robot, options):
    options.set("rate_limit.failures", 3)
    for _ in range(3):
        assert login(mint({"ref": "refs/heads/x"})).failure is credentials.Failure.INVALID
    assert login(mint()).failure is credentials.Failure.RATE_LIMITED


_segment = st.one_of(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=", max_size=60),
                     st.builds(lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("="),
                               st.dictionaries(st.sampled_from(["alg", "kid", "iss", "aud", "exp", "typ", "jku"]),
                                               st.one_of(st.text(max_size=20), st.integers(), st.none(),
                                                         st.just("RS256"), st.just(ISSUER), st.just("rsa")),
                                               max_size=5)))


@given(st.tuples(_segment, _segment, _segment))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_hostile_tokens_are_refused_never_raise(robot, parts):
    token = "eyJ" + ".".join(parts)
    result = login(token)
    assert not result.ok
    assert result.message


@given(st.dictionaries(st.sampled_from(["iss", "aud", "exp", "iat", "nbf", "repository", "ref", "sub"]),
                       st.one_of(st.text(max_size=30), st.integers(min_value=-2**63, max_value=2**63),
                                 st.floats(allow_nan=True), st.none(), st.lists(st.text(max_size=5), max_size=3),
                                 st.booleans()), max_size=8))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_validly_signed_tokens_with_hostile_claims_never_raise(robot, claims):
    try:
        token = jwt.encode(claims, RSA_KEY, algorithm="RS256", headers={"kid": "rsa"})
    except (TypeError, ValueError, OverflowError):
        return
    result = login(token)
    assert result.message or result.ok


def _mint_or_garbage(claims: dict) -> str:
    try:
        return mint(claims)
    except (TypeError, ValueError):  # PyJWT refuses to sign some shapes (a non-string iss): send junk then
        return "eyJ" + "x" * 10 + ".e30.sig"


@given(token=st.one_of(
    st.builds(lambda a, b, c: f"eyJ{a}.{b}.{c}", *[st.text(max_size=40)] * 3),
    st.builds(lambda claims: _mint_or_garbage(claims), st.dictionaries(
        st.sampled_from(["iss", "aud", "exp", "iat", "nbf", "repository", "ref"]),
        st.one_of(st.text(max_size=20), st.integers(min_value=-2**40, max_value=2**40), st.none(),
                  st.just(ISSUER), st.just(AUDIENCE)), max_size=6)),
    st.just("eyJ" + "A" * 20000 + ".x.y"),
))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_token_endpoint_answers_hostile_tokens_with_401_never_5xx(robot, client, token):
    try:
        auth = "Basic " + base64.b64encode(f"robot$ci:{token}".encode("utf-8", "surrogatepass")).decode()
    except UnicodeEncodeError:
        return
    response = client.get("/v2/token", {"service": "registry.test.lan:5000"}, HTTP_AUTHORIZATION=auth)
    assert response.status_code in (200, 401, 429), response.content
    if response.status_code != 200:
        assert response.json()["errors"][0]["message"]
