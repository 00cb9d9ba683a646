"""Real clients with scoped tokens and robots: podman pulls with a pull-only token and skopeo cannot push
with it; a namespace's robot pushes into its namespace with its token, and nowhere else."""

from __future__ import annotations

import pytest

from tests.e2e.support.containers import skopeo
from tests.e2e.test_registry_clients import push, refused

pytestmark = pytest.mark.e2e


def _id_of(stack, path: str, **match) -> int:
    rows = stack.api(path, params={"per_page": 100}).json()
    return next(row["id"] for row in rows if all(row.get(k) == v for k, v in match.items()))


def _token(stack, user_id: int, name: str, scopes: list[str]) -> str:
    response = stack.api(f"/users/{user_id}/application_tokens", method="POST",
                         json={"application": name, "scopes": scopes, "expires_in_days": 1})
    assert response.status_code == 201, response.text
    return response.json()["plain_token"]


def test_a_pull_only_token_pulls_but_cannot_push(stack, images, podman):
    image = images.single(tag="v1")
    push(stack, image, "qa/scoped:v1", "owner", check=True)
    stack.wait_for_tag("qa/scoped", "v1", image.digest)
    olivia = _id_of(stack, "/users", username="olivia")
    plain = _token(stack, olivia, "e2e-pull-only", ["registry:pull"])

    podman("login", "-u", "olivia", "--password-stdin", stack.registry.address, input=plain)
    pulled = podman("pull", stack.registry.ref("qa/scoped", "v1"), check=False)
    assert pulled.returncode == 0, pulled.stderr

    # olivia owns qa and may push with her password (above): the token may not.
    other = images.single(tag="v2")
    pushed = skopeo("copy", "--dest-creds", f"olivia:{plain}", other.ref(),
                    f"docker://{stack.registry.ref('qa/scoped', 'v2')}", check=False)
    assert refused(pushed), pushed
    assert "v2" not in stack.tags("qa/scoped")


def test_a_robot_token_pushes_into_its_namespace_only(stack, images):
    qa = _id_of(stack, "/namespaces", name="qa")
    created = stack.api("/robots", method="POST", json={"name": "e2e-ci", "namespace_id": qa})
    assert created.status_code == 201, created.text
    robot = created.json()
    assert robot["username"] == "robot$qa+e2e-ci"
    granted = stack.api(f"/namespaces/{qa}/grants", method="POST",
                        json={"pattern": "robot/*", "permission": "push", "user": robot["username"]})
    assert granted.status_code == 201, granted.text
    plain = _token(stack, robot["id"], "ci", ["registry:push"])

    image = images.single(tag="build-1")
    result = skopeo("copy", "--dest-creds", f"{robot['username']}:{plain}", image.ref(),
                    f"docker://{stack.registry.ref('qa/robot/app', 'build-1')}", check=False)
    assert result.returncode == 0, result.stderr
    stack.wait_for_tag("qa/robot/app", "build-1", image.digest)

    # Outside its grant, and in another namespace, it is refused.
    for target in ("qa/elsewhere", "oscar/app"):
        refused_push = skopeo("copy", "--dest-creds", f"{robot['username']}:{plain}", image.ref(),
                              f"docker://{stack.registry.ref(target, 'build-1')}", check=False)
        assert refused(refused_push), refused_push
