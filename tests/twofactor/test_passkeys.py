"""Passkeys: registered from the Two-factor page, used as the second step and alone (passwordless), with
answers signed by a software authenticator (real keys, CBOR and signatures)."""

from __future__ import annotations

import re

import pytest

from activities.models import Activity
from tests.conftest import PASSWORD
from tests.twofactor.conftest import post_json, sign_in
from twofactor.models import Passkey, RecoveryCode

pytestmark = pytest.mark.django_db


def _passwordless(client, authenticator, **get_kwargs):
    options = post_json(client, "/users/passkey/options")
    assert options.status_code == 200
    answer = authenticator.get(options.json()["publicKey"], **get_kwargs)
    return post_json(client, "/users/passkey/sign_in", {"credential": answer, "next": "/users/edit"})


def test_registering_a_passkey_names_it_and_makes_recovery_codes(as_user, owner, register_passkey):
    client = as_user(owner)
    response = register_passkey(client, "Work laptop")
    assert response.json() == {"redirect": "/users/two_factor/recovery_codes/new"}
    passkey = Passkey.objects.get(user=owner)
    assert passkey.name == "Work laptop" and passkey.transports == ["internal"]
    shown = client.get("/users/two_factor/recovery_codes/new")
    assert shown.status_code == 200
    assert len(re.findall(r"<li>[0-9a-z]{5}-[0-9a-z]{5}</li>", shown.content.decode())) == 10
    assert client.get("/users/two_factor/recovery_codes/new").status_code == 302  # once
    assert RecoveryCode.objects.filter(user=owner).count() == 10
    page = client.get("/users/two_factor").content.decode()
    assert "Work laptop" in page
    assert Activity.objects.get(key="user.two_factor_add").parameters["factor"] == "passkey “Work laptop”"


def test_the_options_exclude_registered_passkeys_and_ask_for_a_discoverable_one(as_user, owner, register_passkey):
    client = as_user(owner)
    register_passkey(client)
    options = post_json(client, "/users/two_factor/passkeys/options").json()["publicKey"]
    assert options["rp"]["id"] == "testserver"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert len(options["excludeCredentials"]) == 1
    assert options["user"]["name"] == "olivia" and options["user"]["id"] != str(owner.pk)


def test_an_answer_for_another_origin_is_refused(as_user, owner, authenticator):
    client = as_user(owner)
    options = post_json(client, "/users/two_factor/passkeys/options").json()["publicKey"]
    answer = authenticator.create(options, origin="https://evil.example")
    response = post_json(client, "/users/two_factor/passkeys", {"credential": answer, "name": "x"})
    assert response.status_code == 400 and not Passkey.objects.exists()


def test_a_challenge_is_good_once(as_user, owner, authenticator):
    client = as_user(owner)
    options = post_json(client, "/users/two_factor/passkeys/options").json()["publicKey"]
    answer = authenticator.create(options)
    assert post_json(client, "/users/two_factor/passkeys", {"credential": answer}).status_code == 200
    again = post_json(client, "/users/two_factor/passkeys", {"credential": answer})
    assert again.status_code == 400 and "No passkey request is pending" in again.json()["message"]


def test_passwordless_sign_in(client, owner, as_user, register_passkey, authenticator):
    register_passkey(as_user(owner))
    response = _passwordless(client, authenticator)
    assert response.status_code == 200 and response.json() == {"redirect": "/users/edit"}
    assert client.session["_auth_user_id"] == str(owner.pk)
    assert Activity.objects.get(key="user.sign_in").parameters["method"] == "passkey"
    assert Passkey.objects.get(user=owner).last_used_at is not None


def test_a_replayed_assertion_is_refused(client, owner, as_user, register_passkey, authenticator):
    register_passkey(as_user(owner))
    options = post_json(client, "/users/passkey/options").json()["publicKey"]
    answer = authenticator.get(options)
    assert post_json(client, "/users/passkey/sign_in", {"credential": answer}).status_code == 200
    other = type(client)()
    post_json(other, "/users/passkey/options")
    assert post_json(other, "/users/passkey/sign_in", {"credential": answer}).status_code == 400
    assert "_auth_user_id" not in other.session


def test_a_passkey_without_user_verification_cannot_sign_in(client, owner, as_user, register_passkey,
                                                           authenticator):
    register_passkey(as_user(owner))
    authenticator.user_verified = False
    assert _passwordless(client, authenticator).status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_disabled_accounts_passkey_cannot_sign_in(client, owner, as_user, register_passkey, authenticator):
    register_passkey(as_user(owner))
    owner.enabled = False
    owner.save()
    assert _passwordless(client, authenticator).status_code == 403
    assert "_auth_user_id" not in client.session


def test_a_passkey_as_the_second_step(client, owner, as_user, register_passkey, authenticator):
    register_passkey(as_user(owner))
    sign_in(client, "olivia")
    assert "_auth_user_id" not in client.session
    page = client.get("/users/two_factor/verify").content.decode()
    assert "Use your passkey" in page
    options = post_json(client, "/users/two_factor/verify/passkey/options").json()["publicKey"]
    assert len(options["allowCredentials"]) == 1
    response = post_json(client, "/users/two_factor/verify/passkey",
                         {"credential": authenticator.get(options)})
    assert response.status_code == 200 and client.session["_auth_user_id"] == str(owner.pk)
    assert Activity.objects.get(key="user.sign_in").parameters["method"] == "password and passkey"


def test_another_users_passkey_is_no_second_step(client, owner, outsider, as_user, register_passkey,
                                                authenticator):
    register_passkey(as_user(owner))
    register_passkey(as_user(outsider))
    sign_in(client, "olivia")
    options = post_json(client, "/users/two_factor/verify/passkey/options").json()["publicKey"]
    oscars = authenticator.credentials[1]
    response = post_json(client, "/users/two_factor/verify/passkey",
                         {"credential": authenticator.get(options, credential=oscars)})
    assert response.status_code == 400 and "_auth_user_id" not in client.session
    assert Activity.objects.filter(key="user.two_factor_failure", target_id=owner.pk).count() == 1


def test_the_second_step_passkey_endpoints_need_the_password_first(client, db):
    assert post_json(client, "/users/two_factor/verify/passkey/options").status_code == 403
    assert post_json(client, "/users/two_factor/verify/passkey", {"credential": {}}).status_code == 403


def test_removing_a_passkey_needs_the_password_and_only_ones_own(as_user, owner, outsider, register_passkey):
    register_passkey(as_user(owner))
    passkey = Passkey.objects.get(user=owner)
    assert as_user(outsider).post(f"/users/two_factor/passkeys/{passkey.pk}/delete",
                                  {"confirm": PASSWORD}).status_code == 404
    client = as_user(owner)
    assert client.post(f"/users/two_factor/passkeys/{passkey.pk}/delete", {"confirm": "nope"}).status_code == 400
    assert client.post(f"/users/two_factor/passkeys/{passkey.pk}/delete", {"confirm": PASSWORD}).status_code == 302
    assert not Passkey.objects.exists() and not RecoveryCode.objects.filter(user=owner).exists()
    assert Activity.objects.get(key="user.two_factor_remove").parameters["factor"] == "passkey “Laptop”"


def test_same_names_are_numbered(as_user, owner, register_passkey):
    client = as_user(owner)
    register_passkey(client, "Phone")
    register_passkey(client, "Phone")
    assert list(Passkey.objects.filter(user=owner).values_list("name", flat=True)) == ["Phone", "Phone (2)"]


def test_a_pinned_rp_id_must_contain_the_host(as_user, owner, options):
    options.set("two_factor.webauthn.rp_id", "example.org")
    response = post_json(as_user(owner), "/users/two_factor/passkeys/options")
    assert response.status_code == 400 and "example.org" in response.json()["message"]
    ok = post_json(as_user(owner), "/users/two_factor/passkeys/options", HTTP_HOST="portus.example.org")
    assert ok.status_code == 200 and ok.json()["publicKey"]["rp"]["id"] == "example.org"


def test_the_json_doors_need_the_csrf_token(owner, register_passkey, as_user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post_json(strict, "/users/passkey/options").status_code == 403
    assert post_json(strict, "/users/passkey/sign_in", {"credential": {}}).status_code == 403
    strict.force_login(owner, backend="accounts.backends.PortusBackend")
    assert post_json(strict, "/users/two_factor/passkeys/options").status_code == 403
    page = strict.get("/users/two_factor")
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else strict.cookies["csrftoken"].value
    assert post_json(strict, "/users/two_factor/passkeys/options", HTTP_X_CSRFTOKEN=token).status_code == 200
