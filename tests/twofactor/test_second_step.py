"""Signing in with a second factor: the password alone does not sign in; a code, a recovery code or a
passkey finishes it, once; wrong answers are counted and limited like passwords."""

from __future__ import annotations

import pytest

from activities.models import Activity
from tests.conftest import PASSWORD
from tests.twofactor.conftest import code_at, sign_in
from twofactor.models import TwoFactorState

pytestmark = pytest.mark.django_db


def _wrong(secret: str) -> str:
    return f"{(int(code_at(secret)) + 500_000) % 1_000_000:06d}"


def test_without_a_factor_the_password_signs_in_and_is_recorded(client, owner):
    response = sign_in(client, "olivia", REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302 and response["Location"] == "/"
    assert "_auth_user_id" in client.session
    signed_in = Activity.objects.get(key="user.sign_in")
    assert signed_in.owner == owner and signed_in.parameters == {"method": "password", "address": "198.51.100.7"}


def test_a_wrong_password_of_an_account_is_recorded_without_the_password(client, owner):
    sign_in(client, "olivia", "wrong-password")
    refused = Activity.objects.get(key="user.sign_in_failure")
    assert refused.target_id == owner.pk and refused.owner is None
    assert "wrong-password" not in str(refused.parameters)
    sign_in(client, "nobody-of-that-name", "x")
    assert Activity.objects.filter(key="user.sign_in_failure").count() == 1


def test_the_password_leads_to_the_second_step_not_in(client, owner, enrol_totp):
    enrol_totp(owner)
    before = client.cookies["sessionid"].value if "sessionid" in client.cookies else None
    response = sign_in(client, "olivia")
    assert response.status_code == 302 and response["Location"] == "/users/two_factor/verify"
    assert "_auth_user_id" not in client.session
    assert client.cookies["sessionid"].value != before
    assert client.get("/users/edit").status_code == 302  # not signed in yet
    page = client.get("/users/two_factor/verify")
    assert page.status_code == 200 and "One more step, olivia" in page.content.decode()


def test_a_right_code_signs_in_and_goes_where_the_person_was_going(client, owner, enrol_totp):
    secret, _ = enrol_totp(owner)
    client.post("/users/sign_in", {"username": "olivia", "password": PASSWORD, "next": "/users/edit"})
    response = client.post("/users/two_factor/verify", {"code": code_at(secret, 1)})
    assert response.status_code == 302 and response["Location"] == "/users/edit"
    assert client.session["_auth_user_id"] == str(owner.pk)
    assert Activity.objects.get(key="user.sign_in").parameters["method"] == "password and authenticator code"


def test_a_used_code_cannot_be_replayed(client, owner, enrol_totp):
    secret, _ = enrol_totp(owner)
    code = code_at(secret, 1)
    sign_in(client, "olivia")
    assert client.post("/users/two_factor/verify", {"code": code}).status_code == 302
    client.post("/users/sign_out")
    sign_in(client, "olivia")
    again = client.post("/users/two_factor/verify", {"code": code})
    assert again.status_code == 400 and "used already" in again.content.decode()
    assert "_auth_user_id" not in client.session
    # Nor any earlier code (the current step's code was spent when the app was confirmed).
    assert client.post("/users/two_factor/verify", {"code": code_at(secret)}).status_code == 400


def test_a_wrong_code_is_refused_counted_and_recorded(client, owner, enrol_totp):
    secret, _ = enrol_totp(owner)
    sign_in(client, "olivia")
    response = client.post("/users/two_factor/verify", {"code": _wrong(secret)}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 400 and "_auth_user_id" not in client.session
    assert TwoFactorState.objects.get(user=owner).failed_attempts == 1
    failure = Activity.objects.get(key="user.two_factor_failure")
    assert failure.target_id == owner.pk and failure.parameters == {"kind": "code", "address": "203.0.113.9"}


def test_after_five_wrong_codes_the_password_is_needed_again(client, owner, enrol_totp):
    secret, _ = enrol_totp(owner)
    sign_in(client, "olivia")
    for _ in range(4):
        assert client.post("/users/two_factor/verify", {"code": _wrong(secret)}).status_code == 400
    over = client.post("/users/two_factor/verify", {"code": _wrong(secret)})
    assert over.status_code == 302 and over["Location"] == "/users/sign_in"
    # The right code no longer helps this sign-in.
    assert client.post("/users/two_factor/verify", {"code": code_at(secret, 1)})["Location"] == "/users/sign_in"
    assert "_auth_user_id" not in client.session


def test_signing_in_again_gives_no_fresh_guesses_past_the_lock(client, owner, enrol_totp, options):
    """A right password resets the password's counter, not the second step's: whoever knows the password
    cannot guess codes for ever by signing in again."""
    options.set("lockout.max_attempts", 6)
    secret, _ = enrol_totp(owner)
    for _ in range(2):
        sign_in(client, "olivia")
        for _ in range(3):
            client.post("/users/two_factor/verify", {"code": _wrong(secret)})
    sign_in(client, "olivia")
    locked = client.post("/users/two_factor/verify", {"code": code_at(secret, 1)})
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert "Too many wrong answers" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_second_step_shares_the_addresss_budget(client, owner, enrol_totp, options):
    options.set("rate_limit.failures", 3)
    options.set("lockout.max_attempts", 100)
    secret, _ = enrol_totp(owner)
    sign_in(client, "olivia")
    for _ in range(3):
        client.post("/users/two_factor/verify", {"code": _wrong(secret)})
    limited = client.post("/users/two_factor/verify", {"code": code_at(secret, 1)})
    assert limited.status_code == 429 and 1 <= int(limited["Retry-After"]) <= 2 * 600
    assert "_auth_user_id" not in client.session


def test_a_recovery_code_signs_in_once(client, owner, enrol_totp):
    _, codes = enrol_totp(owner)
    sign_in(client, "olivia")
    response = client.post("/users/two_factor/verify", {"code": codes[3].upper().replace("-", " ")})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(owner.pk)
    used = Activity.objects.get(key="user.recovery_code_use")
    assert used.owner == owner and used.parameters["left"] == 9
    assert Activity.objects.get(key="user.sign_in").parameters["method"] == "password and recovery code"
    client.post("/users/sign_out")
    sign_in(client, "olivia")
    again = client.post("/users/two_factor/verify", {"code": codes[3]})
    assert again.status_code == 400 and "_auth_user_id" not in client.session


def test_another_users_recovery_code_does_not_work(client, owner, outsider, enrol_totp):
    enrol_totp(owner)
    _, theirs = enrol_totp(outsider)
    sign_in(client, "olivia")
    assert client.post("/users/two_factor/verify", {"code": theirs[0]}).status_code == 400


def test_a_password_change_meanwhile_ends_the_pending_sign_in(client, owner, enrol_totp):
    secret, _ = enrol_totp(owner)
    sign_in(client, "olivia")
    owner.set_password("a-brand-new-passphrase")
    owner.save()
    response = client.post("/users/two_factor/verify", {"code": code_at(secret, 1)})
    assert response["Location"] == "/users/sign_in" and "_auth_user_id" not in client.session


def test_the_pending_sign_in_expires(client, owner, enrol_totp, monkeypatch):
    import time

    from twofactor import pending

    secret, _ = enrol_totp(owner)
    sign_in(client, "olivia")
    real = time.time
    monkeypatch.setattr(pending.time, "time", lambda: real() + pending.PENDING_SECONDS + 1)
    assert client.get("/users/two_factor/verify")["Location"] == "/users/sign_in"


def test_the_second_step_without_a_pending_sign_in(client, db):
    assert client.get("/users/two_factor/verify")["Location"] == "/users/sign_in"
    assert client.post("/users/two_factor/verify", {"code": "123456"})["Location"] == "/users/sign_in"


def test_a_disabled_account_stops_at_the_password(client, owner, enrol_totp):
    enrol_totp(owner)
    owner.enabled = False
    owner.save()
    response = sign_in(client, "olivia")
    assert response.status_code == 200 and "disabled" in response.content.decode()
