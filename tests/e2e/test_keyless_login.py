"""Keyless CI login against a real OpenID provider: a CI job's token, signed by the running oidc-provider
(tests/e2e/oidc/), is the robot's password at /v2/token and for a real push with skopeo; no secret of the
robot exists anywhere. Every way such a token can be wrong is refused with a message that names it."""

from __future__ import annotations

import base64
import json
import time

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.e2e.oidc_stack import AUDIENCE, ROBOT
from tests.e2e.support.containers import skopeo


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def registry_claims(stack, token: str) -> dict:
    cert = x509.load_pem_x509_certificate((stack.root / "portus.crt").read_bytes())
    return jwt.decode(token, cert.public_key(), algorithms=["RS256"], audience=stack.registry.address)


def token_request(oidc, password: str, *, username: str = ROBOT, scope: str = "repository:qa/app:pull,push",
                  **params) -> requests.Response:
    stack = oidc.stack
    return session().get(f"{stack.web_url}/v2/token", auth=(username, password), timeout=20,
                         params={"service": stack.registry.address, "scope": scope, **params})


def refusal(response) -> str:
    assert response.status_code == 401, (response.status_code, response.text)
    return response.json()["errors"][0]["message"]


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_ci_token_is_the_robots_password(oidc_stack):
    token = oidc_stack.provider.ci_token("ci-main", AUDIENCE)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["kid"] in {k["kid"] for k in oidc_stack.provider.jwks()["keys"]}
    response = token_request(oidc_stack, token, offline_token="true", client_id="docker")
    assert response.status_code == 200, response.text
    body = response.json()
    assert registry_claims(oidc_stack.stack, body["token"])["access"] == [
        {"type": "repository", "name": "qa/app", "actions": ["pull", "push"]}]
    assert registry_claims(oidc_stack.stack, body["token"])["sub"] == ROBOT
    assert "refresh_token" not in body  # a keyless login leaves no long-lived secret behind


def test_skopeo_pushes_with_a_ci_token_and_no_stored_secret(oidc_stack, images, tmp_path):
    stack = oidc_stack.stack
    token = oidc_stack.provider.ci_token("ci-main", AUDIENCE)
    image = images.single(tag="ci")
    skopeo("copy", "--dest-creds", f"{ROBOT}:{token}", image.ref(), f"docker://{stack.registry.ref('qa/ci', 'ci')}",
           home=tmp_path)
    stack.wait_for_tag("qa/ci", "ci", image.digest)
    # What the robot holds: no password, no application token; the audit log says who logged in.
    out = stack.manage("shell", "-c", (
        "from accounts.models import User, ApplicationToken; from activities.models import Activity; "
        f"r = User.objects.get(username={ROBOT!r}); "
        "print('STATE', r.has_usable_password(), ApplicationToken.objects.filter(user=r).count(), "
        "Activity.objects.filter(key='trust_policy.use', owner=r).count())")).stdout
    assert out.split("STATE", 1)[1].split() == ["False", "0", "1"]


def test_a_job_of_another_branch_is_refused_and_cannot_push(oidc_stack, images, tmp_path):
    token = oidc_stack.provider.ci_token("ci-feature", AUDIENCE)
    message = refusal(token_request(oidc_stack, token))
    assert "do not match the trust policies of robot$ci" in message and 'ref == "refs/heads/main"' in message
    image = images.single(tag="feature")
    result = skopeo("copy", "--dest-creds", f"{ROBOT}:{token}", image.ref(),
                    f"docker://{oidc_stack.stack.registry.ref('qa/ci', 'feature')}", home=tmp_path, check=False)
    assert result.returncode != 0 and "feature" not in oidc_stack.stack.tags("qa/ci")


def test_a_job_of_another_repository_is_refused(oidc_stack):
    message = refusal(token_request(oidc_stack, oidc_stack.provider.ci_token("ci-other-repo", AUDIENCE)))
    assert 'repository == "acme/app"' in message


def test_a_token_for_another_audience_is_refused(oidc_stack):
    token = oidc_stack.provider.ci_token("ci-main", "https://elsewhere.example")
    assert "another audience" in refusal(token_request(oidc_stack, token))


def test_an_expired_token_is_refused(oidc_stack):
    token = oidc_stack.provider.ci_token("ci-short", AUDIENCE)  # lives 1 s; the leeway is 1 s here
    claims = jwt.decode(token, options={"verify_signature": False})
    time.sleep(max(0.0, claims["exp"] + 2.5 - time.time()))
    assert "expired" in refusal(token_request(oidc_stack, token))


def test_a_token_of_an_issuer_the_robot_does_not_trust_is_refused(oidc_stack):
    """A second robot trusts GitHub Actions only (set through the API): the provider's token is no good for it."""
    stack = oidc_stack.stack
    out = stack.manage("shell", "-c", (
        "from accounts.models import User; u = User(username='robot$gh', bot=True); u.set_unusable_password(); "
        "u.save(); print('ID', u.pk)")).stdout
    robot_id = int(out.split("ID", 1)[1])
    created = stack.api(f"/users/{robot_id}/trust_policies", "POST", json={
        "issuer": "https://token.actions.githubusercontent.com", "rules": 'repository == "acme/app"'})
    assert created.status_code == 201, created.text
    listed = stack.api(f"/users/{robot_id}/trust_policies").json()
    assert [p["rules"] for p in listed] == ['repository == "acme/app"']
    message = refusal(token_request(oidc_stack, oidc_stack.provider.ci_token("ci-main", AUDIENCE),
                                    username="robot$gh"))
    assert "No trust policy of robot$gh accepts tokens from the issuer" in message
    assert stack.api(f"/trust_policies/{created.json()['id']}", "DELETE").status_code == 204


def test_a_forged_or_tampered_token_is_refused(oidc_stack):
    real = oidc_stack.provider.ci_token("ci-feature", AUDIENCE)
    header, payload, signature = real.split(".")
    claims = jwt.decode(real, options={"verify_signature": False})
    # The claims of a main-branch job with the feature job's signature.
    tampered = f"{header}.{b64({**claims, 'ref': 'refs/heads/main'})}.{signature}"
    assert "signature does not verify" in refusal(token_request(oidc_stack, tampered))
    # HS256 keyed with the provider's public key (the classic algorithm confusion), and `none`.
    jwk = next(k for k in oidc_stack.provider.jwks()["keys"] if k["kid"] == jwt.get_unverified_header(real)["kid"])
    pem = jwt.PyJWK(jwk).key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    main_claims = {**claims, "ref": "refs/heads/main"}
    forged = f"{b64({'alg': 'HS256', 'kid': jwk['kid']})}.{b64(main_claims)}"
    import hashlib
    import hmac

    mac = base64.urlsafe_b64encode(hmac.new(pem, forged.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    assert "'HS256' is not accepted" in refusal(token_request(oidc_stack, f"{forged}.{mac}"))
    unsigned = f"{b64({'alg': 'none', 'kid': jwk['kid']})}.{b64(main_claims)}.x"
    assert "'none' is not accepted" in refusal(token_request(oidc_stack, unsigned))
    unknown_kid = f"{b64({'alg': 'RS256', 'kid': 'no-such-key'})}.{payload}.{signature}"
    assert "publishes no key with the ID token's kid" in refusal(token_request(oidc_stack, unknown_kid))


def test_a_person_cannot_log_in_with_an_id_token_as_password(oidc_stack):
    """Only robots with trust policies take tokens: for anyone else a JWT is just a wrong password."""
    token = oidc_stack.provider.ci_token("ci-main", AUDIENCE)
    message = refusal(token_request(oidc_stack, token, username="carl"))
    assert "Invalid user name or password" in message
    assert "application token" in message  # single sign-on is on: the hint for accounts without a password
