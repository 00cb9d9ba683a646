"""Check the e2e support code against a plain (no auth) registry and the real clients.

    .venv/bin/python tests/e2e/support/selfcheck.py [--keep]

Prints one line per client operation (``ok`` or ``FAIL``) and exits non-zero if any failed. Everything
runs in a temporary directory on 127.0.0.1; every process started here is stopped at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tests.e2e.support` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import requests  # noqa: E402

from tests.e2e.support import containers, docker, images, services  # noqa: E402

ACCEPT = ", ".join(
    [
        images.MEDIA_TYPE_OCI_INDEX,
        images.MEDIA_TYPE_OCI_MANIFEST,
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class Check:
    def __init__(self):
        self.failures: list[str] = []
        self.count = 0

    def __call__(self, name: str, fn, *args, **kwargs):
        self.count += 1
        start = time.monotonic()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            self.failures.append(name)
            detail = str(exc) if isinstance(exc, (AssertionError, RuntimeError)) else traceback.format_exc()
            print(
                f"FAIL  {name} ({time.monotonic() - start:.2f}s)\n      " + detail.replace("\n", "\n      "),
                flush=True,
            )
            return None
        print(f"ok    {name} ({time.monotonic() - start:.2f}s)", flush=True)
        return result if result is not None else True


def fetch_manifest(
    http: requests.Session, registry: services.Registry, repo: str, ref: str
) -> requests.Response:
    r = http.get(f"{registry.url}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT}, timeout=10)
    r.raise_for_status()
    return r


def expect_manifest(http, registry, repo, ref, digest, media_type):
    r = fetch_manifest(http, registry, repo, ref)
    body_digest = "sha256:" + hashlib.sha256(r.content).hexdigest()
    assert body_digest == digest, f"{repo}:{ref}: served body {body_digest}, expected {digest}"
    assert r.headers.get("Docker-Content-Digest") == digest, r.headers
    assert r.headers.get("Content-Type") == media_type, r.headers.get("Content-Type")


def tag_digest(http, registry, repo, tag) -> str:
    r = http.head(f"{registry.url}/v2/{repo}/manifests/{tag}", headers={"Accept": ACCEPT}, timeout=10)
    r.raise_for_status()
    return r.headers["Docker-Content-Digest"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--own-containerd", action="store_true", help="start containerd separately, not dockerd's managed one"
    )
    opts = parser.parse_args(argv)

    t0 = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="e2e-selfcheck-"))
    check = Check()
    http = requests.Session()
    http.trust_env = False
    registry = dockerd = None
    started_pids: list[int] = []
    try:
        # --- images built offline ---
        single = images.write_oci_layout(
            tmp / "oci-single", files={"hello.txt": b"hello\n", "etc/motd": b"selfcheck\n"}, tag="v1"
        )
        again = images.write_oci_layout(
            tmp / "oci-again", files={"etc/motd": b"selfcheck\n", "hello.txt": b"hello\n"}, tag="v1"
        )
        index = images.write_oci_index_layout(tmp / "oci-index", tag="multi")
        rootfs = images.write_rootfs_tarball(
            tmp / "rootfs.tar", {"bin/hello": b"#!/bin/sh\necho hi\n", "data/x.txt": b"x\n"}
        )

        def builders_are_deterministic():
            assert single.digest == again.digest, "same files, different digest"
            assert single.size == single.config_size + sum(single.layer_sizes)
            assert len({c.digest for c in index.children}) == 2
            assert len({c.layer_digests for c in index.children}) == 2
            index_json = json.loads((tmp / "oci-index" / "index.json").read_text())
            assert index_json["manifests"][0]["digest"] == index.digest

        check("images: deterministic OCI layout, index and tarball", builders_are_deterministic)

        def inspect_layout():
            out = json.loads(containers.skopeo("inspect", single.ref(), home=tmp / "skopeo").stdout)
            assert out["Digest"] == single.digest, out
            assert out["Layers"] == list(single.layer_digests), out
            raw = containers.skopeo("inspect", "--raw", index.ref(), home=tmp / "skopeo").stdout
            assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == index.digest

        check("skopeo inspect oci:DIR:TAG (image and index)", inspect_layout)

        # --- plain registry ---
        port = services.free_port()
        config = services.write_registry_config(
            tmp / "registry.yml", services.registry_config(port=port, storage_dir=tmp / "registry-data")
        )
        registry = check(
            "registry: start docker-registry, GET /v2/",
            services.start_registry,
            config,
            log_path=tmp / "registry.log",
        )
        if not registry:
            return 1
        started_pids.append(registry.pid)
        reg = registry.address

        def sk(*args):
            return containers.skopeo(*args, home=tmp / "skopeo")

        def skopeo_push():
            sk("copy", single.ref(), f"docker://{reg}/selfcheck/single:v1")
            expect_manifest(http, registry, "selfcheck/single", "v1", single.digest, single.media_type)
            expect_manifest(
                http, registry, "selfcheck/single", single.digest, single.digest, single.media_type
            )

        check("skopeo copy oci:DIR:TAG docker://… (digest as computed)", skopeo_push)

        def skopeo_push_index():
            sk("copy", "--all", index.ref(), f"docker://{reg}/selfcheck/multi:multi")
            expect_manifest(http, registry, "selfcheck/multi", "multi", index.digest, index.media_type)
            for child in index.children:
                expect_manifest(
                    http, registry, "selfcheck/multi", child.digest, child.digest, child.media_type
                )

        check("skopeo copy --all (index and children as computed)", skopeo_push_index)

        def skopeo_inspect_remote():
            out = json.loads(sk("inspect", f"docker://{reg}/selfcheck/single:v1").stdout)
            assert out["Digest"] == single.digest, out
            tags = json.loads(sk("list-tags", f"docker://{reg}/selfcheck/single").stdout)["Tags"]
            assert tags == ["v1"], tags

        check("skopeo inspect / list-tags docker://…", skopeo_inspect_remote)

        def skopeo_delete():
            sk("copy", single.ref(), f"docker://{reg}/selfcheck/doomed:v1")
            sk("delete", f"docker://{reg}/selfcheck/doomed@{single.digest}")
            r = http.get(
                f"{registry.url}/v2/selfcheck/doomed/manifests/{single.digest}",
                headers={"Accept": ACCEPT},
                timeout=10,
            )
            assert r.status_code == 404, r.status_code

        check("skopeo delete docker://…@digest", skopeo_delete)

        check(
            "skopeo login (auth file isolated)",
            lambda: (
                containers.skopeo(
                    "login", "-u", "someone", "--password-stdin", reg, home=tmp / "skopeo", input="secret\n"
                ),
                _assert_in(reg, (tmp / "skopeo" / "auth.json").read_text()),
            ),
        )

        # --- podman ---
        pm = containers.Podman(tmp / "podman")

        def podman_import_push():
            pm("import", "--quiet", rootfs, f"{reg}/selfcheck/podman:1")
            pm("push", "--quiet", "--digestfile", tmp / "podman.digest", f"{reg}/selfcheck/podman:1")
            pushed = (tmp / "podman.digest").read_text().strip()
            assert tag_digest(http, registry, "selfcheck/podman", "1") == pushed
            return pushed

        podman_digest = check("podman import + push", podman_import_push)

        def podman_pull():
            pm("rmi", f"{reg}/selfcheck/podman:1")
            pm("pull", "--quiet", f"{reg}/selfcheck/podman:1")
            pm("pull", "--quiet", f"{reg}/selfcheck/single:v1")
            pm("pull", "--quiet", f"{reg}/selfcheck/multi:multi")
            digests = pm("images", "--format", "{{.Repository}}:{{.Tag}} {{.Digest}}").stdout
            assert f"{reg}/selfcheck/single:v1 {single.digest}" in digests, digests
            if isinstance(podman_digest, str):
                assert f"{reg}/selfcheck/podman:1 {podman_digest}" in digests, digests

        check("podman pull (imported, OCI image, OCI index)", podman_pull)

        check(
            "podman login (auth file isolated)",
            lambda: (
                pm("login", "-u", "someone", "--password-stdin", reg, input="secret\n"),
                _assert_in(reg, pm.authfile.read_text()),
            ),
        )

        # --- dockerd, docker CLI, ctr ---
        dockerd = check(
            "dockerd: start (vfs, no networking, its own containerd)",
            docker.start_dockerd,
            tmp / "docker",
            insecure_registries=[reg],
            own_containerd=True if opts.own_containerd else None,
        )
        if dockerd:
            started_pids.append(dockerd.process.pid)

            def docker_import_push():
                dockerd.docker("import", rootfs, f"{reg}/selfcheck/docker:1")
                out = dockerd.docker("push", f"{reg}/selfcheck/docker:1").stdout
                pushed = tag_digest(http, registry, "selfcheck/docker", "1")
                assert f"digest: {pushed}" in out, out
                return pushed

            docker_digest = check("docker import + push", docker_import_push)

            def docker_pull():
                dockerd.docker("rmi", f"{reg}/selfcheck/docker:1")
                dockerd.docker("pull", f"{reg}/selfcheck/docker:1")
                dockerd.docker("pull", f"{reg}/selfcheck/single:v1")
                dockerd.docker("pull", f"{reg}/selfcheck/multi:multi")
                repo_digests = dockerd.docker(
                    "image", "inspect", "--format", "{{json .RepoDigests}}", f"{reg}/selfcheck/single:v1"
                ).stdout
                assert f"{reg}/selfcheck/single@{single.digest}" in repo_digests, repo_digests
                if isinstance(docker_digest, str):
                    repo_digests = dockerd.docker(
                        "image", "inspect", "--format", "{{json .RepoDigests}}", f"{reg}/selfcheck/docker:1"
                    ).stdout
                    assert docker_digest in repo_digests, repo_digests

            check("docker pull (imported, OCI image, OCI index)", docker_pull)

            check(
                "docker login (DOCKER_CONFIG isolated)",
                lambda: (
                    dockerd.docker("login", "-u", "someone", "--password-stdin", reg, input="secret\n"),
                    _assert_in(reg, (dockerd.config_dir / "config.json").read_text()),
                ),
            )

            def ctr_pull():
                dockerd.ctr("images", "pull", "--plain-http", f"{reg}/selfcheck/single:v1")
                dockerd.ctr(
                    "images", "pull", "--plain-http", "--all-platforms", f"{reg}/selfcheck/multi:multi"
                )
                dockerd.ctr("images", "pull", "--plain-http", f"{reg}/selfcheck/docker:1")
                listing = dockerd.ctr("images", "ls").stdout
                assert single.digest in listing and index.digest in listing, listing

            check("ctr images pull --plain-http (OCI image, index, docker-pushed)", ctr_pull)

            def stop_dockerd():
                dockerd.stop()
                leftovers = [p for p in services.pids_mentioning(str(dockerd.exec_root))]
                assert not leftovers, f"processes left: {leftovers}"
                mounts = services.mounts_under(dockerd.data_root, dockerd.exec_root)
                assert not mounts, f"mounts left: {mounts}"

            check("dockerd: stop (no process, no mount left)", stop_dockerd)

        check("registry: stop", registry.stop)
    finally:
        http.close()
        if dockerd:
            dockerd.stop()
        if registry:
            registry.stop()
        leftovers = [pid for pid in started_pids if services._pid_alive(pid)]
        if check.failures:
            for proc in (registry, dockerd):
                if proc:
                    print(proc.log_tail(30))
        if opts.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    if leftovers:
        check.failures.append("leftover processes")
        print(f"FAIL  processes still running: {leftovers}")
    passed = check.count - len(check.failures)
    print(f"{passed} passed, {len(check.failures)} failed in {time.monotonic() - t0:.1f}s")
    return 1 if check.failures else 0


def _assert_in(needle: str, haystack: str) -> None:
    assert needle in haystack, f"{needle!r} not in {haystack!r}"


if __name__ == "__main__":
    sys.exit(main())
