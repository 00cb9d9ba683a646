"""What is inside an image, what sits beside it, and storage — against the real registry, images pushed by
skopeo and artifacts by a small client in cosign's exact formats."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.conftest import PASSWORD
from tests.e2e.support import artifacts as art
from tests.e2e.support import images as builders
from tests.e2e.support.containers import skopeo

ADMIN = f"admin:{PASSWORD}"


def push(stack, image, reference: str, *extra: str) -> None:
    skopeo("copy", *extra, "--dest-creds", ADMIN, image.ref(),
           f"docker://{stack.registry.address}/{reference}", check=True)


def served_digest(stack, reference: str) -> str:
    out = skopeo("inspect", "--creds", ADMIN, "--raw", f"docker://{stack.registry.address}/{reference}").stdout
    return art.digest_of(out.encode())


def wait(what: str, probe, timeout: float = 40.0):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.25)


def details(stack, repository: str, tag: str, *, referrers: int = 0) -> dict:
    last = {}

    def probe():
        found = stack.tags(repository).get(tag)
        if found is None:
            return None
        response = stack.api(f"/tags/{found['id']}/details")
        response.raise_for_status()
        body = last["body"] = response.json()
        done = body["status"] == "done" and len(body["referrers"]) >= referrers
        return body if done else None

    try:
        return wait(f"details of {repository}:{tag}", probe)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last seen {last.get('body')}\n{stack.logs()[-3000:]}") from None


@pytest.fixture(scope="module")
def pusher(stack):
    return art.RegistryPusher(registry_url=stack.registry.url, realm_url=stack.web_url,
                              service=stack.registry.address, username="admin", password=PASSWORD)


def test_oci_image_details(stack, tmp_path):
    image = builders.write_oci_layout(
        tmp_path / "oci", tag="oci", files={"etc/e2e-release": "details\n"}, extra_layers=[{"bin/tool": "x"}],
        labels={"org.opencontainers.image.source": "https://example.org/src/app",
                "org.opencontainers.image.description": "An image for the tests"})
    push(stack, image, "qa/details:oci")
    body = details(stack, "qa/details", "oci")
    assert body["digest"] == image.digest
    assert body["media_type"] == "application/vnd.oci.image.manifest.v1+json"
    assert [layer["digest"] for layer in body["layers"]] == list(image.layer_digests)
    assert [layer["size"] for layer in body["layers"]] == list(image.layer_sizes)
    assert body["layers"][0]["created_by"] == "tests/e2e/support/images.py"
    assert body["config_blob"]["digest"] == image.config_digest
    assert body["total_size"] == image.size
    assert body["config"]["created"] == "2000-01-01T00:00:00Z"
    assert body["config"]["cmd"] == ["/bin/sh"]
    assert body["config"]["os"] == "linux" and body["config"]["architecture"] == "amd64"
    assert body["source_url"] == "https://example.org/src/app"
    assert body["description"] == "An image for the tests"
    assert body["signed"] is False and body["referrers"] == []


def test_docker_v2_image_details(stack, images):
    image = images.single(tag="v2s2")
    push(stack, image, "qa/details:docker", "--format", "v2s2")
    digest = served_digest(stack, "qa/details:docker")
    body = details(stack, "qa/details", "docker")
    assert body["digest"] == digest != image.digest
    assert body["media_type"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert body["layers"][0]["media_type"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    assert body["config_blob"]["media_type"] == "application/vnd.docker.container.image.v1+json"
    assert body["config"]["cmd"] == ["/bin/sh"]
    assert body["layers"][0]["created_by"] == "tests/e2e/support/images.py"


def test_two_platform_index_details(stack, images):
    index = images.multi(tag="multi")
    push(stack, index, "qa/details:multi", "--all")
    body = details(stack, "qa/details", "multi")
    assert body["digest"] == index.digest
    assert body["media_type"] == "application/vnd.oci.image.index.v1+json"
    platforms = {(p["os"], p["architecture"]): p for p in body["platforms"]}
    assert set(platforms) == {("linux", "amd64"), ("linux", "arm64")}
    for child in index.children:
        shown = platforms[(child.platform.os, child.platform.architecture)]
        assert shown["digest"] == child.digest and shown["size"] == child.size
    assert body["total_size"] == sum(c.size for c in index.children)
    assert body["layers"] == []


def test_config_details_pushed_by_a_client(stack, pusher):
    """Env with a secret, ports, working dir, entrypoint, author, and history with empty layers."""
    layer_a, layer_b = b"layer-a-" * 50, b"layer-b-" * 70
    config = art.canonical({
        "created": "2024-05-01T12:00:00Z", "author": "Olivia <olivia@example.org>", "os": "linux",
        "architecture": "arm64",
        "config": {"Env": ["PATH=/bin", "DB_PASSWORD=hunter2", "API_TOKEN=abc"], "Entrypoint": ["/app"],
                   "Cmd": ["--serve"], "ExposedPorts": {"8080/tcp": {}}, "WorkingDir": "/srv",
                   "Labels": {"team": "qa"}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64, "sha256:" + "1" * 64]},
        "history": [{"created_by": "ADD a /"}, {"created_by": "ENV DB_PASSWORD=…", "empty_layer": True},
                    {"created_by": "RUN make b"}, {"created_by": "CMD --serve", "empty_layer": True}]})
    manifest = {"schemaVersion": 2, "mediaType": art.OCI_MANIFEST,
                "config": {"mediaType": art.OCI_CONFIG, "digest": art.digest_of(config), "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": art.digest_of(d),
                            "size": len(d)} for d in (layer_a, layer_b)],
                "annotations": {"org.opencontainers.image.source": "javascript:alert(1)"}}
    pusher.push_manifest("qa/details", "config", manifest, [config, layer_a, layer_b])
    body = details(stack, "qa/details", "config")
    shown = body["config"]
    assert dict(shown["env"]) == {"PATH": "/bin", "DB_PASSWORD": "••••••", "API_TOKEN": "••••••"}
    assert "hunter2" not in json.dumps(body)
    assert shown["entrypoint"] == ["/app"] and shown["cmd"] == ["--serve"]
    assert shown["exposed_ports"] == ["8080/tcp"] and shown["working_dir"] == "/srv"
    assert shown["author"] == "Olivia <olivia@example.org>" and shown["labels"] == {"team": "qa"}
    assert [layer["created_by"] for layer in body["layers"]] == ["ADD a /", "RUN make b"]
    assert body["source_url"] is None  # not http(s): never a link


@pytest.fixture(scope="module")
def trusted_key(stack):
    key = art.new_key()
    script = (
        "from accounts.models import User; from namespaces.models import Namespace; "
        "from images.services import signing_key_add; "
        f"signing_key_add(namespace=Namespace.objects.get(name='qa'), name='release key', pem={art.public_pem(key)!r}, "
        "by=User.objects.get(username='admin'))"
    )
    stack.manage("shell", "-c", script)
    return key


def test_cosign_tag_scheme(stack, images, pusher, trusted_key):
    image = images.single(tag="signed")
    push(stack, image, "qa/cosign:signed")
    reference = f"{stack.registry.address}/qa/cosign"
    signature, blobs = art.cosign_signature(trusted_key, reference, image.digest)
    pusher.push_manifest("qa/cosign", art.cosign_tag(image.digest, "sig"), signature, blobs)
    attestation, blobs = art.cosign_attestation(image.digest)
    pusher.push_manifest("qa/cosign", art.cosign_tag(image.digest, "att"), attestation, blobs)
    document, blobs = art.sbom(image.digest)
    pusher.push_manifest("qa/cosign", art.cosign_tag(image.digest, "sbom"), document, blobs)
    body = details(stack, "qa/cosign", "signed", referrers=3)
    kinds = {r["kind"]: r for r in body["referrers"]}
    assert set(kinds) == {"signature", "attestation", "sbom"}
    assert kinds["signature"]["tag"] == art.cosign_tag(image.digest, "sig")
    assert body["signed"] is True and body["verified_by"] == ["release key"]
    assert list(stack.tags("qa/cosign")) == ["signed"]  # the cosign tags are not ordinary tags
    assert all(not n.startswith("sha256-") for n in stack.api("/tags").json() and
               [t["name"] for t in stack.api("/tags", params={"per_page": 100}).json()])

    # a signature made with a key nobody trusts: signed, not verified
    other = images.single(tag="unverified")
    push(stack, other, "qa/cosign:unverified")
    signature, blobs = art.cosign_signature(art.new_key(), reference, other.digest)
    pusher.push_manifest("qa/cosign", art.cosign_tag(other.digest, "sig"), signature, blobs)
    body = details(stack, "qa/cosign", "unverified", referrers=1)
    assert body["signed"] is True and body["verified_by"] == []
    # a trusted key's signature of ANOTHER image, copied beside this one, does not verify it
    third = images.single(tag="copied")
    push(stack, third, "qa/cosign:copied")
    signature, blobs = art.cosign_signature(trusted_key, reference, image.digest)
    pusher.push_manifest("qa/cosign", art.cosign_tag(third.digest, "sig"), signature, blobs)
    body = details(stack, "qa/cosign", "copied", referrers=1)
    assert body["signed"] is True and body["verified_by"] == []


def test_oci_referrers_and_delete_with_subject(stack, images, pusher, trusted_key):
    image = images.single(tag="ref")
    push(stack, image, "qa/referrers:v1")
    subject = {"mediaType": image.media_type, "digest": image.digest, "size": image.manifest_size}
    reference = f"{stack.registry.address}/qa/referrers"
    signature, blobs = art.cosign_signature(trusted_key, reference, image.digest, subject=subject)
    signed = pusher.push_manifest("qa/referrers", None, signature, blobs)  # by digest, no tag
    document, blobs = art.sbom(image.digest, subject=subject)
    sbom = pusher.push_manifest("qa/referrers", None, document, blobs)
    attestation, blobs = art.cosign_attestation(image.digest, subject=subject)
    attested = pusher.push_manifest("qa/referrers", "provenance", attestation, blobs)  # by an ordinary-looking tag
    body = details(stack, "qa/referrers", "v1", referrers=3)
    by_digest = {r["digest"]: r for r in body["referrers"]}
    assert by_digest[signed.digest]["kind"] == "signature" and by_digest[signed.digest]["tag"] is None
    assert by_digest[sbom.digest]["kind"] == "sbom"
    assert by_digest[attested.digest]["kind"] == "attestation"
    assert body["verified_by"] == ["release key"]
    wait("the artifact tag hidden", lambda: list(stack.tags("qa/referrers")) == ["v1"])

    tag = stack.tags("qa/referrers")["v1"]
    assert stack.api(f"/tags/{tag['id']}", method="DELETE").status_code == 204
    for digest in (image.digest, signed.digest, sbom.digest, attested.digest):
        gone = skopeo("inspect", "--creds", ADMIN, "--raw", f"docker://{reference}@{digest}", check=False)
        assert gone.returncode != 0, f"{digest} is still in the registry"


def test_storage_matches_the_registry_folder(stack, images):
    shared = images.single(tag="base")
    own = images.single(tag="own")
    push(stack, shared, "storea/app:base")
    push(stack, own, "storea/tool:own")
    push(stack, shared, "storeb/app:base")
    folder = stack.root / "storage"
    expected_a = art.storage_blobs(folder, ["storea/app", "storea/tool"])
    expected_b = art.storage_blobs(folder, ["storeb/app"])
    assert expected_a and expected_b
    both = set(expected_a) & set(expected_b)
    assert both == {shared.digest, *shared.blob_digests}

    def namespace_id(name):
        rows = stack.api("/namespaces", params={"per_page": 100}).json()
        return next((n["id"] for n in rows if n["name"] == name), None)

    ids = {name: wait(f"namespace {name}", lambda name=name: namespace_id(name)) for name in ("storea", "storeb")}

    def usage(name):
        return stack.api(f"/namespaces/{ids[name]}/storage").json()

    # storea's shared bytes are known once storeb's push is processed too: wait for both.
    wait("storeb counted", lambda: usage("storeb")["bytes"] == sum(expected_b.values()))
    wait("storea counted", lambda: usage("storea")["bytes"] == sum(expected_a.values()))
    a = usage("storea")
    assert a["blobs"] == len(expected_a)
    assert a["shared_bytes"] == sum(expected_a[d] for d in both)
    wait("storeb counted", lambda: usage("storeb")["bytes"] == sum(expected_b.values()))
    assert usage("storeb")["shared_bytes"] == sum(expected_b.values())
    repo = stack.repository("storea/tool")
    tool = stack.api(f"/repositories/{repo['id']}/storage").json()
    assert tool["bytes"] == sum(art.storage_blobs(folder, ["storea/tool"]).values())
    assert tool["shared_bytes"] == 0
