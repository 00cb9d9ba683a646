"""Who manages a robot's trust policies, in the UI and the API: admins, and for a namespace's robot its
namespace's owners."""

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


@pytest.fixture
def namespace_robot(namespace, owner):
    from accounts.robots import robot_create

    return robot_create(name="deploy", namespace=namespace, by=owner)


def test_a_namespace_owner_manages_the_keyless_logins_of_its_robot(as_user, owner, namespace_robot):
    client = as_user(owner)
    robot_page = client.get(f"/robots/{namespace_robot.pk}").content.decode()
    assert f'href="/robots/{namespace_robot.pk}/trust_policies"' in robot_page
    page = client.get(f"/robots/{namespace_robot.pk}/trust_policies")
    assert page.status_code == 200 and "Managed by the owners of namespace qa" in page.content.decode()
    created = client.post(f"/robots/{namespace_robot.pk}/trust_policies", {"issuer": ISSUER, "rules": RULE})
    assert created.status_code == 302 and created["Location"] == f"/robots/{namespace_robot.pk}/trust_policies"
    policy = TrustPolicy.objects.get(robot=namespace_robot)
    assert "1 trust policy" in client.get(f"/robots/{namespace_robot.pk}").content.decode()
    deleted = client.post(f"/robots/{namespace_robot.pk}/trust_policies/{policy.pk}/delete")
    assert deleted.status_code == 302 and not TrustPolicy.objects.exists()


def test_only_the_robots_managers_reach_its_keyless_logins(as_user, client, admin, contributor, viewer, outsider,
                                                         namespace_robot, robot):
    for who in (contributor, viewer, outsider):
        assert as_user(who).get(f"/robots/{namespace_robot.pk}/trust_policies").status_code == 404, who
        assert as_user(who).post(f"/robots/{namespace_robot.pk}/trust_policies",
                                 {"issuer": ISSUER, "rules": RULE}).status_code == 404, who
        assert client.post(f"/api/v1/users/{namespace_robot.pk}/trust_policies", {"issuer": ISSUER, "rules": RULE},
                           content_type="application/json", **_api(client, who)).status_code == 404, who
    assert not TrustPolicy.objects.exists()
    assert as_user(admin).get(f"/robots/{namespace_robot.pk}/trust_policies").status_code == 200
    # An instance robot (or another bot) stays the admins' alone, whoever owns a namespace.
    assert as_user(contributor).get(f"/admin/users/{robot.pk}/trust_policies").status_code == 404


def test_a_namespace_owner_uses_the_api_for_its_robot(client, owner, namespace_robot, namespace):
    from accounts.robots import robot_create
    from namespaces.services import namespace_create
    from teams.services import team_create

    headers = _api(client, owner)
    created = client.post(f"/api/v1/users/{namespace_robot.pk}/trust_policies", {"issuer": ISSUER, "rules": RULE},
                          content_type="application/json", **headers)
    assert created.status_code == 201, created.content
    # A robot of a namespace the owner does not manage is not theirs.
    stranger = User.objects.create(username="sam")
    other = namespace_create(name="other", team=team_create(name="other", owner=stranger), by=stranger,
                             registry=namespace.registry)
    foreign = robot_create(name="deploy", namespace=other, by=stranger)
    assert client.get(f"/api/v1/users/{foreign.pk}/trust_policies", **headers).status_code == 404
