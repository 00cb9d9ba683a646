"""Who manages a robot's trust policies, in the UI and the API: admins only (robots have no owners yet)."""

from __future__ import annotations

import pytest

from accounts.models import User
from activities.models import Activity
from federation.models import TrustPolicy

ISSUER = "https://token.actions.githubusercontent.com"
RULE = 'repository == "acme/app" and ref == "refs/heads/main"'


@pytest.fixture
def robot(db, registry):
    robot = User(username="robot$ci", bot=True)
    robot.set_unusable_password()
    robot.save()
    return robot


def test_an_admin_adds_and_removes_a_policy_in_the_ui(as_user, admin, robot):
    client = as_user(admin)
    page = client.get(f"/admin/users/{robot.pk}/trust_policies")
    assert page.status_code == 200 and "accepts no ID token" in page.content.decode()
    created = client.post(f"/admin/users/{robot.pk}/trust_policies", {"issuer": ISSUER, "rules": RULE})
    assert created.status_code == 302
    policy = TrustPolicy.objects.get()
    assert (policy.robot, policy.rules, policy.created_by) == (robot, RULE, admin)
    assert Activity.objects.filter(key="trust_policy.create").exists()
    assert client.post(f"/admin/users/{robot.pk}/trust_policies/{policy.pk}/delete").status_code == 302
    assert not TrustPolicy.objects.exists()


@pytest.mark.parametrize(("data", "error"), [
    ({"issuer": "https://evil.test", "rules": RULE}, "Select a valid choice"),
    ({"issuer": ISSUER, "rules": 'sub =~ "*"'}, "would match tokens of anyone"),
    ({"issuer": ISSUER, "rules": "repository = x"}, "expected ==, != or =~"),
    ({"issuer": ISSUER, "rules": RULE, "audience": "a\x01b"}, "printable"),
])
def test_bad_policies_are_refused_with_the_reason(as_user, admin, robot, data, error):
    response = as_user(admin).post(f"/admin/users/{robot.pk}/trust_policies", data)
    assert response.status_code == 400 and error in response.content.decode()
    assert not TrustPolicy.objects.exists()


def test_others_get_404_and_people_have_no_policies(as_user, admin, robot, contributor, owner):
    for who in (contributor, owner):
        assert as_user(who).get(f"/admin/users/{robot.pk}/trust_policies").status_code == 404
        assert as_user(who).post(f"/admin/users/{robot.pk}/trust_policies",
                                 {"issuer": ISSUER, "rules": RULE}).status_code == 404
    assert as_user(admin).get(f"/admin/users/{contributor.pk}/trust_policies").status_code == 404
    assert as_user(None).get(f"/admin/users/{robot.pk}/trust_policies").status_code == 302


def _api(client, user):
    from accounts.services import application_token_create

    _, plain = application_token_create(user=user, application="t", by=user)
    return {"HTTP_PORTUS_AUTH": f"{user.username}:{plain}"}


def test_the_api(client, admin, robot, contributor):
    headers = _api(client, admin)
    created = client.post(f"/api/v1/users/{robot.pk}/trust_policies", {"issuer": ISSUER, "rules": RULE},
                          content_type="application/json", **headers)
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert client.get(f"/api/v1/users/{robot.pk}/trust_policies", **headers).json()[0]["rules"] == RULE
    off = client.put(f"/api/v1/trust_policies/{pk}", {"enabled": False}, content_type="application/json", **headers)
    assert off.status_code == 200 and off.json()["enabled"] is False
    bad = client.post(f"/api/v1/users/{robot.pk}/trust_policies", {"issuer": ISSUER, "rules": "x"},
                      content_type="application/json", **headers)
    assert bad.status_code == 422
    others = _api(client, contributor)
    assert client.get(f"/api/v1/users/{robot.pk}/trust_policies", **others).status_code == 404
    assert client.delete(f"/api/v1/trust_policies/{pk}", **others).status_code == 404
    assert client.delete(f"/api/v1/trust_policies/{pk}", **headers).status_code == 204


def test_a_robot_has_at_most_twenty_policies(admin, robot):
    from django.core.exceptions import ValidationError

    from federation.trust import trust_policy_create

    for n in range(20):
        trust_policy_create(robot=robot, issuer=ISSUER, audience="", rule_text=f'repository == "a/{n}"', by=admin)
    with pytest.raises(ValidationError, match="at most 20"):
        trust_policy_create(robot=robot, issuer=ISSUER, audience="", rule_text='repository == "b"', by=admin)
