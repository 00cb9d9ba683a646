"""Setting up an authenticator app from the Two-factor page: QR code, confirmation, recovery codes, removal."""

from __future__ import annotations

import re

import pytest

from activities.models import Activity
from tests.conftest import PASSWORD
from tests.twofactor.conftest import code_at
from twofactor.models import RecoveryCode, TotpDevice

pytestmark = pytest.mark.django_db


def _secret_from(page: str) -> str:
    return re.search(r"data-totp-secret>([A-Z2-7 ]+)<", page).group(1).replace(" ", "")


def test_enrol_shows_a_server_made_qr_code_and_the_key(as_user, owner):
    client = as_user(owner)
    response = client.post("/users/two_factor/totp")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in page and "<script>" not in page.split("<main", 1)[1].split("</main>")[0]
    secret = _secret_from(page)
    assert len(secret) == 32
    device = TotpDevice.objects.get(user=owner)
    assert secret not in device.encrypted_secret and not device.confirmed


def test_a_wrong_code_does_not_confirm(as_user, owner):
    client = as_user(owner)
    secret = _secret_from(client.post("/users/two_factor/totp").content.decode())
    wrong = f"{(int(code_at(secret)) + 1) % 1_000_000:06d}"
    response = client.post("/users/two_factor/totp/confirm", {"code": wrong})
    assert response.status_code == 400 and "That code is not right" in response.content.decode()
    assert not TotpDevice.objects.get(user=owner).confirmed


def test_confirming_makes_ten_recovery_codes_shown_once_and_stored_hashed(as_user, owner):
    client = as_user(owner)
    secret = _secret_from(client.post("/users/two_factor/totp").content.decode())
    response = client.post("/users/two_factor/totp/confirm", {"code": code_at(secret)})
    assert response.status_code == 201
    codes = re.findall(r"<li>([0-9a-z]{5}-[0-9a-z]{5})</li>", response.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = set(RecoveryCode.objects.filter(user=owner).values_list("digest", flat=True))
    assert len(stored) == 10 and not {c.replace("-", "") for c in codes} & stored
    assert TotpDevice.objects.get(user=owner).confirmed
    added = Activity.objects.get(key="user.two_factor_add")
    assert added.owner == owner and added.parameters["factor"] == "authenticator app"
    # Shown once: the Two-factor page tells how many are left, never the codes.
    page = client.get("/users/two_factor").content.decode()
    assert "10 unused codes left" in page and codes[0] not in page


def test_removing_needs_the_password_or_a_current_code(as_user, owner, enrol_totp):
    secret, _ = enrol_totp(owner)
    client = as_user(owner)
    refused = client.post("/users/two_factor/totp/remove", {"confirm": "not-my-password"})
    assert refused.status_code == 400 and TotpDevice.objects.filter(user=owner).exists()
    owner.refresh_from_db()
    assert owner.failed_attempts == 1  # counted like a wrong password
    assert client.post("/users/two_factor/totp/remove", {"confirm": code_at(secret, 1)}).status_code == 302
    assert not TotpDevice.objects.filter(user=owner).exists()
    assert not RecoveryCode.objects.filter(user=owner).exists()  # nothing left to back up
    removed = Activity.objects.get(key="user.two_factor_remove")
    assert removed.owner == owner and removed.parameters["factor"] == "authenticator app"


def test_removing_with_the_password(as_user, owner, enrol_totp):
    enrol_totp(owner)
    assert as_user(owner).post("/users/two_factor/totp/remove", {"confirm": PASSWORD}).status_code == 302
    assert not TotpDevice.objects.filter(user=owner).exists()


def test_regenerating_recovery_codes_ends_the_old_ones_and_is_recorded(as_user, owner, enrol_totp):
    _, old = enrol_totp(owner)
    client = as_user(owner)
    response = client.post("/users/two_factor/recovery_codes", {"confirm": PASSWORD})
    assert response.status_code == 201
    new = re.findall(r"<li>([0-9a-z]{5}-[0-9a-z]{5})</li>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    from twofactor import recovery

    assert not recovery.use(owner, old[0]) and recovery.use(owner, new[0])
    assert Activity.objects.filter(key="user.recovery_codes_regenerate", owner=owner).count() == 1


def test_the_pages_are_for_signed_in_people_only(client):
    assert client.get("/users/two_factor").status_code == 302
    assert client.post("/users/two_factor/totp").status_code == 302
    assert client.post("/users/two_factor/passkeys/options").status_code == 302
