"""LDAP end to end: the service under gunicorn with its background process, pointed at a real slapd over
StartTLS with a test CA; podman logs in and pushes as a directory user, and the background group sync
puts the user into the team named like their group."""

from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.conftest import _running_stack
from tests.e2e.support import slapd as seed


@pytest.fixture(scope="session")
def ldap_stack(tmp_path_factory, slapd):
    env = {**slapd.env("start_tls"), "PORTUS_LDAP_GROUP_SYNC_INTERVAL": "10"}
    with _running_stack(tmp_path_factory, "ldap-stack", populate=True, env=env) as running:
        yield running


def _token(stack, username: str, password: str, scope: str) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.get(f"{stack.web_url}/v2/token", params={"service": stack.registry.address, "scope": scope},
                       auth=(username, password), timeout=30)


def test_podman_login_and_push_as_an_ldap_user(ldap_stack, images, podman):
    stack = ldap_stack
    podman("login", "-u", "alice", "--password-stdin", stack.registry.address, input=seed.USERS["alice"][0])
    tarball = images.rootfs("ldap-rootfs")
    reference = stack.registry.ref("alice/app", "v1")
    podman("import", str(tarball), reference)
    podman("push", reference)
    found = stack.tags("alice/app")
    deadline = time.monotonic() + 20
    while "v1" not in found and time.monotonic() < deadline:
        time.sleep(0.2)
        found = stack.tags("alice/app")
    assert "v1" in found, stack.logs()
    refused = podman("login", "-u", "alice", "--password-stdin", stack.registry.address, input="wrong",
                     check=False)
    assert refused.returncode != 0


def test_token_endpoint_over_http(ldap_stack):
    first = _token(ldap_stack, "bob", seed.USERS["bob"][0], "repository:bob/app:pull,push")
    assert first.status_code == 200, first.text
    again = _token(ldap_stack, "bob", seed.USERS["bob"][0], "repository:bob/app:pull,push")
    assert again.status_code == 200
    assert _token(ldap_stack, "bob", "nope", "repository:bob/app:pull").status_code == 401
    assert _token(ldap_stack, "*", seed.USERS["bob"][0], "repository:bob/app:pull").status_code == 401


def test_background_group_sync(ldap_stack):
    stack = ldap_stack
    assert _token(stack, "erin", seed.USERS["erin"][0], "").status_code == 200  # erin's account exists now
    created = stack.api("/teams", method="POST", json={"name": "developers"})
    assert created.status_code == 201, created.text
    team_id = created.json()["id"]
    deadline = time.monotonic() + 45
    names: set[str] = set()
    while time.monotonic() < deadline:
        response = stack.api(f"/teams/{team_id}/members")
        names = {m.get("display_name") or m.get("username") for m in response.json()}
        if "erin" in names:
            break
        time.sleep(1)
    assert "erin" in names, f"{names}\n{stack.logs()}"  # developers ⊃ backend ⊃ deep ∋ erin


def test_simultaneous_first_sign_ins_all_succeed(ldap_stack):
    """A CI fleet's first requests of a new directory user arrive together, on several workers: one
    creates the account, the others find it."""
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> int:
        return _token(ldap_stack, "grace", seed.USERS["grace"][0], "repository:grace/app:pull").status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(8)))
    assert statuses == [200] * 8, ldap_stack.logs()
    users = ldap_stack.api("/users").json()
    assert [u["username"] for u in users].count("grace") == 1
