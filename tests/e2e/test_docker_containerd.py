"""The docker CLI with its own engine, and containerd's ctr, against the registry and this service."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.conftest import PASSWORD
from tests.e2e.support.docker import start_dockerd


@pytest.fixture(scope="module")
def docker(stack, tmp_path_factory):
    if not shutil.which("dockerd"):
        pytest.skip("dockerd is not installed (scripts/install-system-packages)")
    daemon = start_dockerd(tmp_path_factory.mktemp("dockerd"), insecure_registries=[stack.registry.address])
    yield daemon
    daemon.stop()


def test_docker_login_push_pull(stack, docker, images):
    reference = stack.registry.ref("qa/docker", "v1")
    docker.docker("import", str(images.rootfs("docker-rootfs")), reference)
    docker.docker("login", "-u", "olivia", "--password-stdin", stack.registry.address, input=PASSWORD)
    docker.docker("push", reference)
    digest = docker.docker("image", "inspect", "--format", "{{index .RepoDigests 0}}", reference).stdout
    digest = digest.strip().split("@", 1)[1]
    shown, seconds = stack.wait_for_tag("qa/docker", "v1", digest)
    assert shown["size"] > 0
    print(f"docker push: visible through the API after {seconds:.2f} s")
    docker.docker("rmi", reference)
    docker.docker("pull", reference)
    docker.docker("logout", stack.registry.address)


def test_docker_outsider_is_refused(stack, docker, images):
    reference = stack.registry.ref("qa/docker-outsider", "v1")
    docker.docker("import", str(images.rootfs("docker-outsider")), reference)
    docker.docker("login", "-u", "oscar", "--password-stdin", stack.registry.address, input=PASSWORD)
    result = docker.docker("push", reference, check=False)
    assert result.returncode != 0
    assert "denied" in (result.stderr + result.stdout).lower() or "unauthorized" in (
        result.stderr + result.stdout).lower()
    docker.docker("logout", stack.registry.address)


def test_docker_login_with_wrong_password_fails(stack, docker):
    result = docker.docker("login", "-u", "olivia", "--password-stdin", stack.registry.address,
                           input="wrong-password", check=False)
    assert result.returncode != 0
    assert "unauthorized" in (result.stderr + result.stdout).lower()


def test_ctr_pull_with_password_grant(stack, docker, images):
    from tests.e2e.test_registry_clients import push

    image = images.single(tag="ctr")
    push(stack, image, "qa/ctr:ctr", "owner", check=True)
    reference = stack.registry.ref("qa/ctr", "ctr")
    docker.ctr("images", "pull", "--plain-http", "--user", f"vera:{PASSWORD}", reference)
    listed = docker.ctr("images", "ls", "-q").stdout
    assert reference in listed
    refused = docker.ctr("images", "pull", "--plain-http", "--user", f"oscar:{PASSWORD}",
                         stack.registry.ref("qa/ctr", "ctr"), check=False)
    assert refused.returncode != 0
