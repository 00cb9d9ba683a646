"""Real clients (skopeo, podman, docker, ctr) against a real registry authorised by this service."""

from __future__ import annotations

from pathlib import Path

import pytest

from realm.management.commands.registry_config import REGISTRY_GOMAXPROCS
from tests.e2e.conftest import PASSWORD
from tests.e2e.support.containers import skopeo

USERS = {"admin": "admin", "owner": "olivia", "contributor": "carl", "viewer": "vera", "outsider": "oscar"}
REFUSED = ("unauthorized", "denied", "authentication required", "401", "403")


def creds(role: str) -> str:
    return f"{USERS[role]}:{PASSWORD}"


def refused(result) -> bool:
    text = (result.stderr + result.stdout).lower()
    return result.returncode != 0 and any(word in text for word in REFUSED)


def test_the_registry_runs_with_the_gomaxprocs_portus_recommends(stack):
    environ = Path(f"/proc/{stack.registry.pid}/environ").read_bytes().split(b"\0")
    assert f"GOMAXPROCS={REGISTRY_GOMAXPROCS}".encode() in environ
    assert Path(f"/proc/{stack.registry.pid}/exe").resolve().name == "docker-registry"


def push(stack, image, reference: str, role: str | None, *, all_platforms: bool = False, check: bool = False):
    args = ["copy"]
    if all_platforms:
        args.append("--all")
    args += ["--dest-creds", creds(role)] if role else ["--dest-no-creds"]
    return skopeo(*args, image.ref(), f"docker://{stack.registry.ref(*reference.split(':'))}", check=check)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("admin", True), ("owner", True), ("contributor", True), ("viewer", False), ("outsider", False),
     (None, False)],
)
def test_skopeo_push_by_role(stack, images, role, allowed):
    tag = role or "anonymous"
    image = images.single(tag=tag)
    result = push(stack, image, f"qa/app:{tag}", role)
    if not allowed:
        assert refused(result), result
        assert tag not in stack.tags("qa/app")
        return
    assert result.returncode == 0, result.stderr
    shown, seconds = stack.wait_for_tag("qa/app", tag, image.digest)
    assert shown["size"] == image.size
    print(f"push by {tag}: visible through the API after {seconds:.2f} s")


@pytest.fixture(scope="module")
def pullable(stack, images):
    """qa/pull:v1, pushed by the team owner."""
    image = images.single(tag="v1")
    push(stack, image, "qa/pull:v1", "owner", check=True)
    stack.wait_for_tag("qa/pull", "v1", image.digest)
    return image


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("admin", True), ("owner", True), ("contributor", True), ("viewer", True), ("outsider", False),
     (None, False)],
)
def test_podman_pull_by_role(stack, pullable, podman, role, allowed):
    if role:
        podman("login", "-u", USERS[role], "--password-stdin", stack.registry.address, input=PASSWORD)
    result = podman("pull", stack.registry.ref("qa/pull", "v1"), check=False)
    if allowed:
        assert result.returncode == 0, result.stderr
        images = podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
        assert f"{stack.registry.address}/qa/pull:v1" in images
    else:
        assert refused(result), result


def test_anonymous_pulls_once_the_namespace_is_public(stack, pullable, podman):
    namespace = next(n for n in stack.api("/namespaces", params={"all": "true"}).json() if n["name"] == "qa")
    response = stack.api(f"/namespaces/{namespace['id']}", method="PUT",
                         json={"namespace": {"visibility": "public"}})
    assert response.status_code == 200, response.text
    try:
        result = podman("pull", stack.registry.ref("qa/pull", "v1"), check=False)
        assert result.returncode == 0, result.stderr
        # Pulling is all anonymous visitors may do.
        assert refused(push(stack, pullable, "qa/pull:anon", None))
    finally:
        stack.api(f"/namespaces/{namespace['id']}", method="PUT", json={"namespace": {"visibility": "private"}})


def test_podman_push_as_contributor(stack, images, podman):
    tarball = images.rootfs("podman-rootfs")
    reference = stack.registry.ref("qa/podman", "v1")
    podman("import", str(tarball), reference)
    podman("login", "-u", "carl", "--password-stdin", stack.registry.address, input=PASSWORD)
    podman("push", reference)
    digest = skopeo("inspect", "--creds", creds("contributor"), "--format", "{{.Digest}}",
                    f"docker://{reference}").stdout.strip()
    stack.wait_for_tag("qa/podman", "v1", digest)


def test_delete_by_role_and_shared_digest(stack, images):
    shared, other = images.single(tag="x"), images.single(tag="y")
    for tag, image in (("one", shared), ("two", shared), ("three", other)):
        push(stack, image, f"qa/del:{tag}", "owner", check=True)
        stack.wait_for_tag("qa/del", tag, image.digest)
    target = f"docker://{stack.registry.ref('qa/del', 'one')}"
    for role in ("contributor", "viewer", "outsider"):
        assert refused(skopeo("delete", "--creds", creds(role), target, check=False)), role
    assert "one" in stack.tags("qa/del")
    skopeo("delete", "--creds", creds("owner"), target)
    # Deleting by tag deletes the manifest: every tag on that digest goes with it.
    stack.wait_for_no_tag("qa/del", "one")
    stack.wait_for_no_tag("qa/del", "two")
    assert stack.tags("qa/del")["three"]["digest"] == other.digest


def test_multi_platform_index(stack, images):
    index = images.multi(tag="multi")
    result = push(stack, index, "qa/multi:multi", "contributor", all_platforms=True)
    assert result.returncode == 0, result.stderr
    shown, _ = stack.wait_for_tag("qa/multi", "multi", index.digest)
    assert shown["size"] == sum(child.size for child in index.children)
    assert sorted(f"{p['os']}/{p['architecture']}" for p in shown["platforms"]) == sorted(
        str(p) for p in index.platforms)


def test_admin_push_into_a_new_namespace_shows_up(stack, images):
    image = images.single(tag="v1")
    assert push(stack, image, "brandnew/app:v1", "admin").returncode == 0
    stack.wait_for_tag("brandnew/app", "v1", image.digest)
    assert any(n["name"] == "brandnew" for n in stack.api("/namespaces", params={"all": "true"}).json())


def test_user_push_into_a_missing_namespace_is_refused(stack, images):
    assert refused(push(stack, images.single(tag="v1"), "nowhere/app:v1", "owner"))


def test_global_namespace(stack, images):
    image = images.single(tag="1.0")
    assert refused(push(stack, image, "tool:1.0", "owner"))
    assert push(stack, image, "tool:1.0", "admin").returncode == 0
    stack.wait_for_tag("tool", "1.0", image.digest)


def test_personal_namespace(stack, images):
    image = images.single(tag="mine")
    assert push(stack, image, "vera/app:mine", "viewer").returncode == 0
    stack.wait_for_tag("vera/app", "mine", image.digest)
    assert refused(push(stack, image, "vera/app:theirs", "owner"))
