"""Revocation is prompt on every worker: two gunicorn servers (one worker each, the shipped settings) on one
database — a fresh PostgreSQL database when DATABASE_URL names PostgreSQL, else a SQLite file — and a
third process that changes things through the product's services. After a revoked application token, a
removed team member, a changed password, a disabled account, an added or removed grant, a signed-out
client (a refresh token revoked), every token request on each worker sent once the bound has passed
(`token_realm.generation_max_age_ms`: the shipped 100 ms, and 0, where that is the very next request)
answers accordingly: the token path keeps nothing about a user, a token, a membership or a grant between
requests but under the authorization generation (its compiled queries hold no values; what it remembers
is dropped when the number changes)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bench.database import own_database
from bench.runner import ROOT, Server
from tests.token.test_generation_bound import SHIPPED as SHIPPED_BOUND_MS

SERVICE = "registry.revoke.test:5000"
PASSWORD, NEW_PASSWORD = "alice-first-password", "alice-second-password"
SCOPE = "repository:crew/app:pull,push"

CONTROL = r"""
import json, sys
import django
django.setup()
from accounts.models import ApplicationToken, User
from accounts.services import application_token_create, application_token_revoke, user_create, user_update
from grants.models import RepositoryGrant
from grants.services import grant_create, grant_delete
from namespaces.services import namespace_create
from registries.services import registry_create
from teams.models import Role, TeamMember
from teams.services import team_create, team_member_add, team_member_remove


def user(name):
    return User.objects.get(username=name)


def setup(service, password):
    registry = registry_create(name="rev", hostname=service, use_ssl=False, by=None, check=False)
    boss = user_create(username="boss", email=None, password=password, admin=True, check_password=False)
    alice = user_create(username="alice", email=None, password=password, check_password=False)
    user_create(username="gina", email=None, password=password, check_password=False)
    team = team_create(name="crew", owner=boss, by=boss)
    team_member_add(team=team, user=alice, role=Role.CONTRIBUTOR, by=boss)
    namespace_create(name="crew", team=team, by=boss, registry=registry)
    _, plain = application_token_create(user=alice, application="ci", by=alice)
    return {"token": plain}


def revoke_token(name):
    application_token_revoke(token=ApplicationToken.objects.get(user=user(name)), by=user(name))


def remove_member(name):
    team_member_remove(member=TeamMember.objects.get(team__name="crew", user=user(name)), by=user("boss"))


def add_member(name):
    from teams.models import Team
    team_member_add(team=Team.objects.get(name="crew"), user=user(name), role=Role.CONTRIBUTOR, by=user("boss"))


def change_password(name, password):
    user_update(user=user(name), by=user("boss"), password=password)


def set_enabled(name, enabled):
    user_update(user=user(name), by=user("boss"), enabled=enabled)


def add_grant(name):
    from namespaces.models import Namespace
    grant_create(namespace=Namespace.objects.get(name="crew"), pattern="app", permission="push", by=user("boss"),
                 user=user(name))


def remove_grant(name):
    grant_delete(grant=RepositoryGrant.objects.get(user=user(name)), by=user("boss"))


def sign_out(name):
    from accounts.models import RefreshToken
    from accounts.services import refresh_token_revoke
    for token in RefreshToken.objects.filter(user=user(name)):
        refresh_token_revoke(token=token, by=user(name))


print("ready", flush=True)
for line in sys.stdin:
    action, kwargs = json.loads(line)
    print("done " + json.dumps(globals()[action](**kwargs)), flush=True)
"""


class Control:
    """A process of its own with Django set up, calling the product's services on request."""

    def __init__(self, env: dict, settle: float = 0.0) -> None:
        self.settle = settle  # waited after each change: the servers' bound
        self.process = subprocess.Popen([sys.executable, "-c", CONTROL], cwd=ROOT, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready = self.process.stdout.readline().strip()
        assert ready == "ready", self.process.communicate(timeout=30)[1][-3000:]

    def __call__(self, action: str, **kwargs):
        self.process.stdin.write(json.dumps([action, kwargs]) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer.startswith("done "), self.process.communicate(timeout=30)[1][-3000:]
        time.sleep(self.settle)  # committed; now the bound passes, and the next request must see it
        return json.loads(answer[5:])

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module", params=[0, SHIPPED_BOUND_MS], ids=["read-every-request", "shipped-bound"])
def stack(request, tmp_path_factory, signing_files):
    """(control, [server A, server B], the application token's secret), the servers reading the
    authorization generation at most `request.param` ms apart."""
    bound_ms = request.param
    folder = tmp_path_factory.mktemp("revocation")
    with own_database(folder, "revocation") as (url, _vendor):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTUS_", "GUNICORN_"))}
        env.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT),
                    "PORTUS_VAR_DIR": str(folder), "PORTUS_KEY_PATH": str(signing_files[0]),
                    "PORTUS_CERTIFICATE_PATH": str(signing_files[1]), "GUNICORN_WORKERS": "1",
                    "DATABASE_CONN_MAX_AGE": "600", "PORTUS_TOKEN_REALM_GENERATION_MAX_AGE_MS": str(bound_ms)})
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=600)
        control = Control(env, settle=bound_ms / 1000)
        secret = control("setup", service=SERVICE, password=PASSWORD)["token"]
        servers = [Server(f"web{n}", "portus.wsgi:application", env, folder / f"web{n}.log") for n in range(2)]
        try:
            for server in servers:
                server.start()
            pids = {tuple(_children(server)) for server in servers}
            assert len(pids) == 2, "two separate worker processes"
            yield control, servers, secret
        finally:
            for server in servers:
                server.stop()
            control.close()


def _children(server: Server) -> list[int]:
    from bench.runner import children

    return children(server.process.pid)


def _access(server: Server, user: str, secret: str, scope: str = SCOPE) -> tuple[int, list[str]]:
    """(status, granted actions on crew/app) of one token request."""
    session = requests.Session()
    session.trust_env = False
    basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
    response = session.get(f"{server.url}/v2/token", params={"service": SERVICE, "scope": scope},
                           headers={"Authorization": f"Basic {basic}"}, timeout=30)
    if response.status_code != 200:
        return response.status_code, []
    token = response.json()["token"]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    actions = [a for entry in claims["access"] if entry["name"] == "crew/app" for a in entry["actions"]]
    return 200, sorted(actions)


def _mint(server: Server, user: str, secret: str) -> str:
    """A refresh token, as `docker login` gets one."""
    basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
    response = requests.get(f"{server.url}/v2/token", params={"service": SERVICE, "offline_token": "true",
                                                             "client_id": "docker"},
                            headers={"Authorization": f"Basic {basic}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["refresh_token"]


def _refresh(server: Server, plain: str) -> tuple[int, list[str]]:
    """(status, granted actions on crew/app) of one refresh-token grant, as the docker CLI sends it."""
    response = requests.post(f"{server.url}/v2/token", data={"grant_type": "refresh_token", "refresh_token": plain,
                                                              "service": SERVICE, "client_id": "docker",
                                                              "scope": SCOPE}, timeout=30)
    if response.status_code != 200:
        return response.status_code, []
    payload = response.json()["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return 200, sorted(a for entry in claims["access"] if entry["name"] == "crew/app" for a in entry["actions"])


def _everywhere(servers, user: str, secret: str, **kwargs) -> list[tuple[int, list[str]]]:
    return [_access(server, user, secret, **kwargs) for server in servers]


PULL_PUSH = (200, ["pull", "push"])
NOTHING = (200, [])


def test_a_removed_member_loses_access_on_every_worker_at_the_next_request(stack):
    control, servers, _ = stack
    assert _everywhere(servers, "alice", PASSWORD) == [PULL_PUSH, PULL_PUSH]
    control("remove_member", name="alice")
    assert _everywhere(servers, "alice", PASSWORD) == [NOTHING, NOTHING]  # a private namespace
    control("add_member", name="alice")
    assert _everywhere(servers, "alice", PASSWORD) == [PULL_PUSH, PULL_PUSH]


def test_an_added_or_removed_grant_counts_on_every_worker_at_the_next_request(stack):
    control, servers, _ = stack
    assert _everywhere(servers, "gina", PASSWORD) == [NOTHING, NOTHING]
    control("add_grant", name="gina")
    assert _everywhere(servers, "gina", PASSWORD) == [PULL_PUSH, PULL_PUSH]
    control("remove_grant", name="gina")
    assert _everywhere(servers, "gina", PASSWORD) == [NOTHING, NOTHING]


def test_a_changed_password_is_refused_on_every_worker_at_the_next_request(stack):
    control, servers, _ = stack
    # Twice each: the second answer comes from each worker's credential cache.
    assert _everywhere(servers, "gina", PASSWORD) * 2 == [NOTHING] * 4
    control("change_password", name="gina", password=NEW_PASSWORD)
    assert [status for status, _ in _everywhere(servers, "gina", PASSWORD)] == [401, 401]
    assert _everywhere(servers, "gina", NEW_PASSWORD) == [NOTHING, NOTHING]


def test_a_disabled_account_is_refused_on_every_worker_at_the_next_request(stack):
    control, servers, secret = stack
    assert _everywhere(servers, "alice", PASSWORD) * 2 == [PULL_PUSH] * 4
    assert _everywhere(servers, "alice", secret) == [PULL_PUSH, PULL_PUSH]
    control("set_enabled", name="alice", enabled=False)
    assert [status for status, _ in _everywhere(servers, "alice", PASSWORD)] == [401, 401]
    assert [status for status, _ in _everywhere(servers, "alice", secret)] == [401, 401]
    control("set_enabled", name="alice", enabled=True)
    assert _everywhere(servers, "alice", secret) == [PULL_PUSH, PULL_PUSH]


def test_a_signed_out_client_is_refused_on_every_worker_at_the_next_request(stack):
    control, servers, secret = stack
    by_password, by_token = _mint(servers[0], "alice", PASSWORD), _mint(servers[1], "alice", secret)
    # Twice each: the second answer comes from each worker's memory.
    assert [_refresh(server, plain) for plain in (by_password, by_token) for server in servers] * 2 == [
        PULL_PUSH] * 8
    control("sign_out", name="alice")
    assert [_refresh(server, plain)[0] for plain in (by_password, by_token) for server in servers] == [401] * 4
    assert _everywhere(servers, "alice", secret) == [PULL_PUSH, PULL_PUSH]  # the application token stands


def test_a_revoked_application_token_is_refused_on_every_worker_at_the_next_request(stack):
    control, servers, secret = stack
    assert _everywhere(servers, "alice", secret) * 2 == [PULL_PUSH] * 4
    control("revoke_token", name="alice")
    assert [status for status, _ in _everywhere(servers, "alice", secret)] == [401, 401]


def test_the_logs_hold_no_error(stack):
    _, servers, _ = stack
    for server in servers:
        text = Path(server.log_path).read_text(errors="replace")
        assert "Traceback" not in text, text[-3000:]
