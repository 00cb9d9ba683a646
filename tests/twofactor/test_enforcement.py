"""two_factor.required: who must have a second factor is kept on the set-up page until they have one."""

from __future__ import annotations

import pytest

from portus.config import ConfigError
from tests.twofactor.conftest import code_at, sign_in

pytestmark = pytest.mark.django_db


def test_nobody_is_asked_by_default(as_user, admin):
    assert as_user(admin).get("/users/edit").status_code == 200


def test_admins_must_enrol_when_required_for_admins(as_user, admin, owner, options):
    options.set("two_factor.required", "admins")
    client = as_user(admin)
    response = client.get("/users/edit")
    assert response.status_code == 302 and response["Location"] == "/users/two_factor"
    page = client.get("/users/two_factor")
    assert page.status_code == 200 and "requires a second factor" in page.content.decode()
    assert client.post("/users/edit", {"email": "x@example.org"}).status_code == 403
    api = client.get("/api/v1/users")
    assert api.status_code == 403 and "second factor" in api.json()["message"]
    assert client.post("/users/sign_out").status_code == 302
    # Others are not asked.
    assert as_user(owner).get("/users/edit").status_code == 200


def test_everyone_must_enrol_when_required_for_everyone_until_they_have(client, owner, options):
    options.set("two_factor.required", "everyone")
    response = sign_in(client, "olivia")
    assert response.status_code == 302
    assert client.get("/")["Location"] == "/users/two_factor"
    client.post("/users/two_factor/totp")
    from twofactor.models import TotpDevice
    from twofactor.totp import decrypt

    secret = decrypt(TotpDevice.objects.get(user=owner))
    assert client.post("/users/two_factor/totp/confirm", {"code": code_at(secret)}).status_code == 201
    assert client.get("/users/edit").status_code == 200


def test_bots_are_never_asked(bot, options, registry):
    from twofactor.enforcement import must_enrol

    options.set("two_factor.required", "everyone")
    assert not must_enrol(bot)


@pytest.mark.parametrize("value", ["all", "yes", "admin"])
def test_a_value_that_is_no_choice_stops_start_up(tmp_path, value):
    from portus import config

    with pytest.raises(ConfigError, match="two_factor.required"):
        config.load(environ={"PORTUS_TWO_FACTOR_REQUIRED": value})


def test_the_option_reads_from_the_environment():
    from portus import config

    assert config.load(environ={"PORTUS_TWO_FACTOR_REQUIRED": "admins"})["two_factor"]["required"] == "admins"


def test_an_admin_sees_and_resets_a_users_factors(as_user, admin, owner, enrol_totp):
    from activities.models import Activity
    from twofactor.services import has_second_factor

    enrol_totp(owner)
    client = as_user(admin)
    page = client.get(f"/admin/users/{owner.pk}").content.decode()
    assert "Authenticator app." in page and "Reset second factors" in page
    assert as_user(owner).post(f"/admin/users/{owner.pk}/two_factor/reset").status_code == 403
    assert has_second_factor(owner)
    assert client.post(f"/admin/users/{owner.pk}/two_factor/reset").status_code == 302
    assert not has_second_factor(owner)
    assert Activity.objects.get(key="user.two_factor_reset").owner == admin
