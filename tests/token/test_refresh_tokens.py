"""Refresh tokens on /v2/token: expiry, the credential that minted them, the service, hostile input."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote_from_bytes

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts import services
from accounts.models import RefreshToken
from accounts.services import application_token_create, application_token_revoke, user_unlock, user_update
from registries.services import registry_create
from tests.conftest import PASSWORD
from tests.token.test_token_endpoint import SERVICE, URL, assert_unauthorized, basic, form, get_token


def refresh_with(client, plain: str, *, service: str = SERVICE, client_id: str = "docker"):
    return form(client, {"grant_type": "refresh_token", "refresh_token": plain, "service": service,
                         "client_id": client_id, "scope": "repository:olivia/app:pull"})


def mint(client, user, *, password: str = PASSWORD, client_id: str = "docker") -> str:
    response = get_token(client, user=user, password=password, offline_token="true", client_id=client_id)
    assert response.status_code == 200, response.content
    return response.json()["refresh_token"]


def age(token: RefreshToken, *, created_days: float, used_days: float | None = None) -> None:
    now = timezone.now()
    RefreshToken.objects.filter(pk=token.pk).update(
        created_at=now - timedelta(days=created_days),
        last_used_at=None if used_days is None else now - timedelta(days=used_days),
    )


# --- what a refresh token records ---------------------------------------------------------------


def test_password_login_binds_the_token_to_the_password_and_the_registry(client, owner, registry):
    mint(client, owner)
    token = RefreshToken.objects.get(user=owner)
    assert token.registry == registry and token.service == registry.hostname
    assert token.application_token is None and token.minted_with == "password"
    assert len(token.password_fingerprint) == 32 and token.password_fingerprint not in owner.password
    assert token.client_id == "docker"


def test_application_token_login_binds_the_token_to_it(client, owner):
    app, plain = application_token_create(user=owner, application="laptop", by=owner)
    mint(client, owner, password=plain)
    token = RefreshToken.objects.get(user=owner)
    assert token.application_token == app and token.minted_with == "application_token"
    assert token.password_fingerprint == ""


def test_post_password_grant_with_an_application_token_binds_to_it(client, owner):
    app, plain = application_token_create(user=owner, application="ci", by=owner)
    response = form(client, {"grant_type": "password", "username": "olivia", "password": plain,
                             "service": SERVICE, "access_type": "offline", "client_id": "containerd-client"})
    assert response.status_code == 200
    assert RefreshToken.objects.get(user=owner).application_token == app


# --- expiry ---------------------------------------------------------------------------------------


def test_a_token_unused_for_longer_than_idle_days_is_refused(client, owner):
    plain = mint(client, owner)
    age(RefreshToken.objects.get(user=owner), created_days=40, used_days=31)
    assert_unauthorized(refresh_with(client, plain))


def test_a_token_never_used_ends_idle_days_after_it_was_made(client, owner):
    plain = mint(client, owner)
    age(RefreshToken.objects.get(user=owner), created_days=31)
    assert_unauthorized(refresh_with(client, plain))


def test_use_slides_the_expiry_along(client, owner):
    plain = mint(client, owner)
    token = RefreshToken.objects.get(user=owner)
    age(token, created_days=100, used_days=29)
    assert refresh_with(client, plain).status_code == 200
    token.refresh_from_db()
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)
    assert token.ends_at > timezone.now() + timedelta(days=29)


def test_a_token_in_steady_use_still_ends_after_max_lifetime_days(client, owner):
    plain = mint(client, owner)
    age(RefreshToken.objects.get(user=owner), created_days=366, used_days=0.5)
    assert_unauthorized(refresh_with(client, plain))


def test_max_lifetime_zero_means_no_limit(client, owner, options):
    options.set("refresh_tokens.max_lifetime_days", 0)
    plain = mint(client, owner)
    age(RefreshToken.objects.get(user=owner), created_days=3000, used_days=1)
    assert refresh_with(client, plain).status_code == 200


def test_a_shortened_option_applies_to_existing_tokens_at_once(client, owner, options):
    plain = mint(client, owner)
    age(RefreshToken.objects.get(user=owner), created_days=3, used_days=2)
    assert refresh_with(client, plain).status_code == 200
    age(RefreshToken.objects.get(user=owner), created_days=3, used_days=2)
    options.set("refresh_tokens.idle_days", 1)
    assert_unauthorized(refresh_with(client, plain))


# --- the credential that minted it ----------------------------------------------------------------


def test_revoking_the_application_token_ends_its_refresh_tokens(client, owner):
    app, plain = application_token_create(user=owner, application="laptop", by=owner)
    refresh = mint(client, owner, password=plain)
    assert refresh_with(client, refresh).status_code == 200
    application_token_revoke(token=app, by=owner)
    assert_unauthorized(refresh_with(client, refresh))
    assert not RefreshToken.objects.filter(user=owner).exists()


def test_an_expired_or_revoked_application_token_ends_its_refresh_tokens(client, owner):
    app, plain = application_token_create(user=owner, application="laptop", by=owner)
    refresh = mint(client, owner, password=plain)
    type(app).objects.filter(pk=app.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_unauthorized(refresh_with(client, refresh))
    type(app).objects.filter(pk=app.pk).update(expires_at=None, revoked_at=timezone.now())
    assert_unauthorized(refresh_with(client, refresh))


def test_a_password_change_ends_refresh_tokens_minted_with_the_password(client, owner, admin):
    refresh = mint(client, owner)
    user_update(user=owner, by=owner, password="another-long-passphrase-1")
    assert_unauthorized(refresh_with(client, refresh))


def test_a_password_reset_outside_the_services_ends_them_too(client, owner):
    refresh = mint(client, owner)
    owner.set_password("another-long-passphrase-1")
    owner.save()  # what Django's password reset form and `manage.py changepassword` do
    assert_unauthorized(refresh_with(client, refresh))


def test_a_password_change_leaves_application_token_refresh_tokens(client, owner):
    # They are no stronger than the application token, which a password change leaves in place.
    _, plain = application_token_create(user=owner, application="laptop", by=owner)
    refresh = mint(client, owner, password=plain)
    user_update(user=owner, by=owner, password="another-long-passphrase-1")
    assert refresh_with(client, refresh).status_code == 200


def test_a_hash_upgraded_by_the_hasher_is_the_same_password(client, owner, registry, settings):
    # A salt too short for the hasher makes the next successful check re-encode the hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    type(owner).objects.filter(pk=owner.pk).update(password=make_password(PASSWORD, salt="ab", hasher="md5"))
    owner.refresh_from_db()
    refresh = services.refresh_token_create(user=owner, registry=registry, client_id="docker")
    assert get_token(client, user=owner).status_code == 200
    owner.refresh_from_db()
    assert "$ab$" not in owner.password
    assert refresh_with(client, refresh).status_code == 200


def test_disabling_ends_them_and_enabling_again_does_not_bring_them_back(client, owner, admin):
    refresh = mint(client, owner)
    user_update(user=owner, by=admin, enabled=False)
    assert_unauthorized(refresh_with(client, refresh))
    user_update(user=owner, by=admin, enabled=True)
    assert_unauthorized(refresh_with(client, refresh))


def test_a_lock_stops_password_guessing_but_not_a_signed_in_client(client, owner, admin):
    # Anyone can lock an account by guessing its password; a refresh token cannot be guessed, so a
    # stranger's guesses must not sign the owner's docker clients out (policy.is_active).
    refresh = mint(client, owner)
    type(owner).objects.filter(pk=owner.pk).update(locked_until=timezone.now() + timedelta(minutes=10))
    assert refresh_with(client, refresh).status_code == 200
    password_login = client.get("/v2/token", {"service": SERVICE}, HTTP_AUTHORIZATION=basic(owner.username, PASSWORD))
    assert_unauthorized(password_login)
    user_unlock(user=owner, by=admin)
    assert refresh_with(client, refresh).status_code == 200


# --- service and client id --------------------------------------------------------------------------


def test_a_token_minted_for_one_registry_is_refused_by_another(client, owner, registry):
    registry_create(name="other", hostname="other.test.lan:5000", use_ssl=False, by=None, check=False)
    refresh = mint(client, owner)
    assert_unauthorized(refresh_with(client, refresh, service="other.test.lan:5000"))
    assert_unauthorized(refresh_with(client, refresh, service="nowhere.test.lan"))
    assert refresh_with(client, refresh).status_code == 200


def test_the_registry_is_matched_by_any_of_its_names(client, owner, registry):
    registry.external_hostname = "images.example.org"
    registry.save()
    refresh = mint(client, owner)
    assert refresh_with(client, refresh, service=" Images.Example.org ").status_code == 200


def test_client_id_is_recorded_not_checked(client, owner):
    # crane and skopeo read docker's credential file and refresh docker's token under their own id.
    refresh = mint(client, owner, client_id="docker")
    assert refresh_with(client, refresh, client_id="go-containerregistry/v0.20.2").status_code == 200
    assert RefreshToken.objects.get(user=owner).client_id == "docker"


# --- bounded per user -------------------------------------------------------------------------------


def test_minting_drops_dead_tokens_and_keeps_at_most_the_limit(client, owner, monkeypatch):
    monkeypatch.setattr(services, "REFRESH_TOKENS_PER_USER", 3)
    first = mint(client, owner)
    dead = RefreshToken.objects.get(user=owner)
    age(dead, created_days=40, used_days=35)
    kept = [mint(client, owner) for _ in range(4)]
    assert not RefreshToken.objects.filter(pk=dead.pk).exists()
    assert RefreshToken.objects.filter(user=owner).count() == 3
    assert_unauthorized(refresh_with(client, first))
    assert_unauthorized(refresh_with(client, kept[0]))  # least recently used: dropped
    assert all(refresh_with(client, plain).status_code == 200 for plain in kept[1:])


# --- hostile input ----------------------------------------------------------------------------------


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.binary(max_size=400), st.text(max_size=400).map(lambda t: t.encode("utf-8", "replace")),
                     st.text(alphabet="prt_-abcXYZ019", max_size=300).map(str.encode)))
def test_any_refresh_token_field_is_a_401_in_json(client, owner, raw):
    body = f"grant_type=refresh_token&service={SERVICE}&refresh_token={quote_from_bytes(raw)}"
    assert_unauthorized(client.post(URL, body, content_type="application/x-www-form-urlencoded"))


@pytest.mark.parametrize("size", [201, 10_000])
def test_huge_refresh_tokens_are_a_401_in_json(client, owner, size):
    assert_unauthorized(refresh_with(client, "prt_" + "A" * size))


def test_a_refresh_token_beyond_the_body_limit_is_refused_before_it_is_read(client, owner):
    response = refresh_with(client, "prt_" + "A" * 1_000_000)
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "UNSUPPORTED"


def test_a_refresh_token_is_not_a_password(client, owner):
    refresh = mint(client, owner)
    assert_unauthorized(client.get(URL, {"service": SERVICE}, HTTP_AUTHORIZATION=basic("olivia", refresh)))


def passwordless(user):
    user.set_unusable_password()
    user.save()
    return user


def test_a_bot_without_a_password_gets_tokens_bound_to_its_application_token(client, bot):
    passwordless(bot)
    app, plain = application_token_create(user=bot, application="deploy", by=bot)
    refresh = mint(client, bot, password=plain)
    assert RefreshToken.objects.get(user=bot).application_token == app
    application_token_revoke(token=app, by=bot)
    assert_unauthorized(refresh_with(client, refresh))


def test_nothing_binds_a_token_to_a_password_that_cannot_be_used(bot, registry):
    passwordless(bot)
    with pytest.raises(ValueError):
        services.refresh_token_create(user=bot, registry=registry, client_id="docker")


def test_deleting_the_user_ends_them(client, owner, admin):
    refresh = mint(client, owner)
    services.user_delete(user=owner, by=admin)
    assert_unauthorized(refresh_with(client, refresh))
    assert not RefreshToken.objects.exists()
