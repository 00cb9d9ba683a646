"""The stack with single sign-on and keyless logins: Portus (tests/e2e/conftest.py's stack, with its
actors) configured for a real OpenID provider (tests/e2e/support/oidc_provider.py) that knows people and
CI jobs, and a robot of team qa that trusts the provider's tokens for acme/app on main."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from tests.e2e.conftest import _running_stack
from tests.e2e.support import oidc_provider, services

CLIENT_ID, CLIENT_SECRET = "portus", "portus-client-secret-at-the-provider"
ROBOT = "robot$ci"
RULE = 'repository == "acme/app" and ref == "refs/heads/main"'
AUDIENCE = "https://portus.e2e.test"  # https://<machine_fqdn>, the default audience
# People at the provider (its development login takes any password): their claims.
ACCOUNTS = {
    "rosa": {"email": "rosa@acme.test", "email_verified": True, "name": "Rosa Díaz", "preferred_username": "rosa",
             "groups": ["acme"]},
    "carl-at-acme": {"email": "carl@example.org", "email_verified": True, "name": "Carl",
                     "preferred_username": "carl", "groups": ["acme"]},
    "mallory": {"email": "mallory@evil.test", "email_verified": True, "name": "Mallory",
                "preferred_username": "admin", "groups": ["acme"]},
}
# CI jobs (client_credentials clients): the claims the provider puts in their tokens.
CI_JOBS = {
    "ci-main": {"repository": "acme/app", "ref": "refs/heads/main", "ref_type": "branch"},
    "ci-feature": {"repository": "acme/app", "ref": "refs/heads/feature", "ref_type": "branch"},
    "ci-other-repo": {"repository": "evil/app", "ref": "refs/heads/main", "ref_type": "branch"},
    "ci-short": {"repository": "acme/app", "ref": "refs/heads/main", "ref_type": "branch"},
}
ROBOT_SCRIPT = """
import json
from accounts.models import User
from federation.trust import trust_policy_create
from teams.models import Role, Team
from teams.services import team_member_add
robot = User(username={robot!r}, email=None, bot=True)
robot.set_unusable_password()
robot.save()
admin = User.objects.get(username="admin")
team_member_add(team=Team.objects.get(name="qa"), user=robot, role=Role.CONTRIBUTOR, by=admin)
policy = trust_policy_create(robot=robot, issuer={issuer!r}, audience="", rule_text={rule!r}, by=admin)
print("ROBOT" + json.dumps({{"robot_id": robot.pk, "policy_id": policy.pk}}))
"""


@dataclass
class OidcStack:
    stack: object
    provider: oidc_provider.Provider
    robot_id: int

    @property
    def web_url(self) -> str:
        return self.stack.web_url


@contextlib.contextmanager
def running_oidc_stack(tmp_path_factory):
    port = services.free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {
        "PORTUS_OAUTH_OPENID_CONNECT_ENABLED": "true",
        "PORTUS_OAUTH_OPENID_CONNECT_ISSUER": issuer,
        "PORTUS_OAUTH_OPENID_CONNECT_IDENTIFIER": CLIENT_ID,
        "PORTUS_OAUTH_OPENID_CONNECT_SECRET": CLIENT_SECRET,
        "PORTUS_OAUTH_OPENID_CONNECT_NAME": "Acme ID",
        "PORTUS_OAUTH_OPENID_CONNECT_DOMAIN": "acme.test,example.org",
        "PORTUS_KEYLESS_ISSUERS": f"{issuer},https://token.actions.githubusercontent.com",
        "PORTUS_KEYLESS_LEEWAY_SECONDS": "1",
    }
    with _running_stack(tmp_path_factory, "oidc", populate=True, env=env) as stack:
        clients = [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_types": ["authorization_code"],
                    "response_types": ["code"], "redirect_uris": [
                        f"{stack.web_url}/users/oauth/openid_connect/callback"]}]
        clients += [{"client_id": job, "client_secret": f"{job}-secret", "grant_types": ["client_credentials"],
                     "response_types": [], "redirect_uris": []} for job in CI_JOBS]
        provider = oidc_provider.start(stack.root, port=port, clients=clients, accounts=ACCOUNTS, ci_claims=CI_JOBS,
                                       ttl={"ci-short": 1})
        stack.processes.append(provider.process)
        out = stack.manage("shell", "-c", ROBOT_SCRIPT.format(robot=ROBOT, issuer=issuer, rule=RULE)).stdout
        made = json.loads(out.split("ROBOT", 1)[1])
        yield OidcStack(stack=stack, provider=provider, robot_id=made["robot_id"])
