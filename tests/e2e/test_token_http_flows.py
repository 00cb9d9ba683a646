"""The clients' token flows spoken over HTTP to the live service (gunicorn), as the real clients send them."""

from __future__ import annotations

import jwt
import requests
from cryptography import x509

from tests.e2e.conftest import PASSWORD


def claims(stack, token: str) -> dict:
    cert = x509.load_pem_x509_certificate((stack.root / "portus.crt").read_bytes())
    return jwt.decode(token, cert.public_key(), algorithms=["RS256"], audience=stack.registry.address)


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def test_registry_challenge_points_at_this_service(stack):
    response = session().get(f"{stack.registry.url}/v2/", timeout=10)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert f'realm="{stack.web_url}/v2/token"' in challenge
    assert f'service="{stack.registry.address}"' in challenge


def test_docker_login_flow(stack):
    """docker login: GET with Basic auth, offline_token=true, client_id=docker, no scope."""
    response = session().get(f"{stack.web_url}/v2/token",
                             params={"account": "olivia", "client_id": "docker", "offline_token": "true",
                                     "service": stack.registry.address},
                             auth=("olivia", PASSWORD), timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert claims(stack, body["token"])["access"] == []
    refresh = body["refresh_token"]
    # Later requests: POST grant_type=refresh_token, with the scope the registry asked for.
    again = session().post(f"{stack.web_url}/v2/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh, "service": stack.registry.address,
        "client_id": "docker", "scope": "repository:qa/app:pull,push"}, timeout=10)
    assert again.status_code == 200
    assert claims(stack, again.json()["access_token"])["access"] == [
        {"type": "repository", "name": "qa/app", "actions": ["pull", "push"]}]


def test_containerd_password_grant(stack):
    response = session().post(f"{stack.web_url}/v2/token", data={
        "grant_type": "password", "username": "carl", "password": PASSWORD, "service": stack.registry.address,
        "client_id": "containerd-client", "scope": "repository:qa/app:pull"}, timeout=10)
    assert response.status_code == 200
    assert claims(stack, response.json()["access_token"])["sub"] == "carl"


def test_go_containerregistry_space_joined_scopes(stack):
    response = session().get(f"{stack.web_url}/v2/token", params={
        "service": stack.registry.address,
        "scope": "repository:qa/app:pull,push repository:olivia/base:pull"}, auth=("olivia", PASSWORD), timeout=10)
    assert response.status_code == 200
    access = {a["name"]: a["actions"] for a in claims(stack, response.json()["token"])["access"]}
    assert access == {"qa/app": ["pull", "push"], "olivia/base": ["pull"]}


def test_bad_credentials_answer_json_401(stack):
    response = session().get(f"{stack.web_url}/v2/token", params={"service": stack.registry.address},
                             auth=("olivia", "wrong"), timeout=10)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_webhook_needs_the_secret(stack):
    response = session().post(f"{stack.web_url}/v2/webhooks/events", json={"events": []}, timeout=10)
    assert response.status_code == 401
