"""The callback with authlib's real checks of the ID token (signature against the JWKS, issuer, audience,
nonce, expiry): only the provider's token endpoint is replaced, by the ID token this test signs. The
same flow against a running provider: tests/e2e/test_oidc_browser.py."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from authlib.integrations.django_client import OAuth
from cryptography.hazmat.primitives.asymmetric import rsa

from accounts.models import User

ISSUER = "https://id.example.test"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks() -> dict:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True)
    return {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}


@pytest.fixture
def provider_app(sso, monkeypatch):
    app = OAuth().register("openid_connect", client_id="portus", client_secret="s",
                           authorize_url=f"{ISSUER}/auth", access_token_url=f"{ISSUER}/token",
                           issuer=ISSUER, jwks=_jwks(), id_token_signing_alg_values_supported=["RS256"],
                           client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"})
    answer = {}
    monkeypatch.setattr(app, "fetch_access_token", lambda **params: answer["token"])
    from federation import views

    monkeypatch.setattr(views, "app_for", lambda provider: app)
    return answer


def _start(client) -> dict:
    location = client.post("/users/oauth/openid_connect/start", {"next": "/explore"})["Location"]
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def _id_token(nonce: str, *, key=KEY, **claims) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "portus", "sub": "sub-rosa", "iat": now, "exp": now + 300, "nonce": nonce,
            "email": "rosa@acme.test", "email_verified": True, "preferred_username": "rosa", **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


def _callback(client, answer, params, id_token: str):
    answer["token"] = {"access_token": "at", "token_type": "Bearer", "id_token": id_token}
    return client.get("/users/oauth/openid_connect/callback", {"code": "c", "state": params["state"]}, follow=True)


def test_a_good_id_token_signs_in_and_lands_on_next(anonymous, provider_app):
    params = _start(anonymous)
    response = _callback(anonymous, provider_app, params, _id_token(params["nonce"]))
    assert response.wsgi_request.user.username == "rosa"
    assert response.redirect_chain[-1][0] == "/explore"


@pytest.mark.parametrize("change", [
    {"nonce": "replayed"}, {"aud": "another-client"}, {"iss": "https://evil.test"},
    {"exp": lambda: int(time.time()) - 3600}, {"key": OTHER},
])
def test_a_bad_id_token_is_refused_without_a_500(anonymous, provider_app, change):
    params = _start(anonymous)
    change = {name: value() if callable(value) else value for name, value in change.items()}
    key = change.pop("key", KEY)
    nonce = change.pop("nonce", params["nonce"])
    response = _callback(anonymous, provider_app, params, _id_token(nonce, key=key, **change))
    assert response.status_code == 200
    assert "Signing in with Acme ID failed: the answer could not be verified." in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert not User.objects.filter(username="rosa").exists()


def test_the_state_is_single_use(anonymous, provider_app):
    params = _start(anonymous)
    _callback(anonymous, provider_app, params, _id_token(params["nonce"]))
    anonymous.post("/users/sign_out")
    again = _callback(anonymous, provider_app, params, _id_token(params["nonce"]))
    assert not again.wsgi_request.user.is_authenticated
