"""The sign-in page's provider buttons, oauth.local_login.enabled, the callback's refusals, the profile's
identities, and the hint of a refused password login."""

from __future__ import annotations

import pytest

from accounts import credentials
from federation import providers
from federation.csp import sign_in_origins
from federation.models import ExternalIdentity
from tests.conftest import PASSWORD


def test_the_buttons_are_forms_with_csrf(sso, anonymous):
    page = anonymous.get("/users/sign_in").content.decode()
    assert 'action="/users/oauth/openid_connect/start"' in page and "Sign in with Acme ID" in page
    assert 'name="csrfmiddlewaretoken"' in page.split("portus-sso", 1)[1]


def test_no_buttons_without_providers(anonymous, db):
    assert "portus-sso" not in anonymous.get("/users/sign_in").content.decode()


def test_starting_needs_post_and_a_known_provider(sso, anonymous):
    assert anonymous.get("/users/oauth/openid_connect/start").status_code == 405
    assert anonymous.post("/users/oauth/github/start").status_code == 404
    assert anonymous.post("/users/oauth/../start").status_code == 404


def test_a_callback_that_was_not_started_here_is_refused(sso, anonymous):
    response = anonymous.get("/users/oauth/openid_connect/callback", {"code": "x", "state": "forged"}, follow=True)
    assert "This sign-in was not started here" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_a_callback_with_a_forged_state_is_refused(sso, anonymous, monkeypatch):
    """The flow was started, but the state does not match what the session holds (login CSRF)."""
    session = anonymous.session
    session["federation_flow"] = {"provider": "openid_connect", "mode": "sign_in", "next": "/", "user": None}
    session.save()
    from authlib.integrations.django_client import OAuth

    from federation import views

    app = OAuth().register("openid_connect", client_id="portus", client_secret="s",
                           authorize_url="https://id.example.test/auth", access_token_url="https://id.example.test/token")
    monkeypatch.setattr(views, "app_for", lambda provider: app)  # no discovery to read: the state fails first
    response = anonymous.get("/users/oauth/openid_connect/callback", {"code": "x", "state": "forged"}, follow=True)
    assert "the answer could not be verified" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_local_login_off_hides_the_form_and_refuses_non_admins(sso, options, anonymous, contributor, admin):
    options.set("oauth.local_login.enabled", False)
    page = anonymous.get("/users/sign_in").content.decode()
    assert '<details class="mb-3" id="portus-admin-sign-in">' in page
    refused = anonymous.post("/users/sign_in", {"username": "carl", "password": PASSWORD})
    assert refused.status_code == 200 and "Password sign-in is off on this Portus: sign in with Acme ID." in \
        refused.content.decode()
    assert not refused.wsgi_request.user.is_authenticated
    ok = anonymous.post("/users/sign_in", {"username": "admin", "password": PASSWORD})
    assert ok.status_code == 302  # admins keep their password: the way in when the provider is down
    assert "Sign up" not in page and anonymous.get("/users/sign_up").status_code == 404  # no password accounts


def test_the_profile_lists_identities_and_offers_linking(sso, as_user, contributor):
    page = as_user(contributor).get("/users/edit").content.decode()
    assert 'action="/users/oauth/openid_connect/link"' in page and "portus-no-password" not in page
    ExternalIdentity.objects.create(user=contributor, provider="openid_connect", subject="s", login="carl-idp")
    page = as_user(contributor).get("/users/edit").content.decode()
    assert "carl-idp" in page and "/link" not in page


def test_unlinking_someone_elses_identity_is_404(sso, as_user, contributor, viewer):
    identity = ExternalIdentity.objects.create(user=viewer, provider="openid_connect", subject="s")
    assert as_user(contributor).post(f"/users/identities/{identity.pk}/unlink").status_code == 404
    assert ExternalIdentity.objects.filter(pk=identity.pk).exists()


def test_linking_needs_a_signed_in_person(sso, anonymous, bot, as_user):
    assert anonymous.post("/users/oauth/openid_connect/link").status_code == 302
    assert as_user(bot).post("/users/oauth/openid_connect/link").status_code in (302, 403)


def test_a_refused_password_says_how_accounts_without_one_log_in(sso, registry):
    message = credentials.verify("nobody", "wrong").message
    assert message.startswith("Invalid user name or password")
    assert "create an application token on your profile page (http://portus.test.lan/users/edit)" in message


def test_no_hint_without_single_sign_on(db):
    assert "application token" not in credentials.verify("nobody", "wrong").message


def test_presets(options):
    for key, name in (("github", "client_id"), ("gitlab", "application_id"), ("google_oauth2", "id")):
        options.set(f"oauth.{key}.enabled", True)
        options.set(f"oauth.{key}.{name}", "x")
    options.set("oauth.github.organization", "acme")
    options.set("oauth.gitlab.server", "https://git.acme.test/")
    options.set("oauth.google_oauth2.options.hd", "acme.test")
    github, gitlab, google = (providers.get(k) for k in ("github", "gitlab", "google_oauth2"))
    assert (github.authorize_url, github.api_base) == ("https://github.com/login/oauth/authorize",
                                                       "https://api.github.com/")
    assert "read:org" in github.scope and not github.is_oidc
    assert gitlab.metadata_url == "https://git.acme.test/.well-known/openid-configuration"
    assert google.hosted_domain == "acme.test" and google.domains == ("acme.test",)


def test_the_content_security_policy_lets_the_buttons_reach_the_providers(settings):
    tree = settings.PORTUS
    tree["oauth"]["openid_connect"].update(enabled=True, issuer="https://id.acme.test/realms/x")
    tree["oauth"]["github"]["enabled"] = True
    assert sign_in_origins(tree) == ["https://github.com", "https://id.acme.test"]


@pytest.mark.parametrize(("env", "error"), [
    ({"PORTUS_OAUTH_OPENID_CONNECT_ENABLED": "true", "PORTUS_OAUTH_OPENID_CONNECT_IDENTIFIER": "x",
      "PORTUS_OAUTH_OPENID_CONNECT_ISSUER": "http://id.example.org"}, "expected an https:// URL"),
    ({"PORTUS_OAUTH_GITHUB_ENABLED": "true"}, "oauth.github.client_id: must be set"),
    ({"PORTUS_KEYLESS_ISSUERS": "https://ok.test,javascript:alert(1)"}, "keyless.issuers"),
    ({"PORTUS_KEYLESS_LEEWAY_SECONDS": "3600"}, "keyless.leeway_seconds"),
])
def test_configuration_refuses_nonsense(env, error, tmp_path):
    from portus import config

    with pytest.raises(config.ConfigError, match=error):
        config.load(environ=env, var_dir=tmp_path)


def test_starting_again_and_again_keeps_one_flow_in_the_session(sso, anonymous, monkeypatch):
    from authlib.integrations.django_client import OAuth

    from federation import views

    app = OAuth().register("openid_connect", client_id="portus", client_secret="s",
                           authorize_url="https://id.example.test/auth", access_token_url="https://id.example.test/token",
                           client_kwargs={"scope": "openid", "code_challenge_method": "S256"})
    monkeypatch.setattr(views, "app_for", lambda provider: app)
    for _ in range(5):
        response = anonymous.post("/users/oauth/openid_connect/start", {"next": "https://evil.test/"})
        assert response.status_code == 302 and response["Location"].startswith("https://id.example.test/auth?")
        assert "code_challenge_method=S256" in response["Location"] and "nonce=" in response["Location"]
    session = anonymous.session
    assert len([k for k in session.keys() if k.startswith("_state_")]) == 1
    assert session["federation_flow"]["next"] == "/"  # another site is no place to land
