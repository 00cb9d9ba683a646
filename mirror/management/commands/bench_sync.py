"""`manage.py bench_sync`: times a full catalog sync of N repositories against a real Distribution registry.

It starts Debian's `docker-registry` on a free local port with token auth wired to this service, seeds
its filesystem storage directly (pushing thousands of images through the API would time the seeding,
not the sync): per repository one small OCI manifest, tagged `latest`, laid out as Distribution stores
it. It then adds the registry here, times a first sync as the background runs it (everything new: the
tags and a GET of every manifest, every write, made while the reads go on) and a second one (nothing
changed: what the background does every interval), prints the figures, and removes the registry and
everything synced from it again (the activities the sync recorded stay: the audit trail is not
rewritten).

Each sync's line gives the CPU this process and the registry spent. Then the registry alone: the
requests of an unchanged sync (a tag list and a HEAD per repository, one token per group, as many
threads as the sync's readers on kept connections) without any of the sync's work, the ceiling no sync
here can pass on this machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from mirror import sync
from portus.options import certificate_path, option
from registries import transport
from registries.client import RegistryClient, forget_tokens, pull_groups, repository_scope
from registries.models import Registry

REGISTRY_BINARY = "/usr/bin/docker-registry"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _blob(root: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    _write(root / "blobs" / "sha256" / digest[:2] / digest / "data", data)
    return digest


def seed_storage(root: Path, names: list[str]) -> None:
    """Writes one image tagged `latest` per repository into a filesystem storage `rootdirectory`."""
    v2 = root / "docker" / "registry" / "v2"
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
    config_digest = _blob(v2, config.encode())
    layer_digest = _blob(v2, b"bench layer")
    for name in names:
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(config),
                       "digest": f"sha256:{config_digest}"},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 11,
                        "digest": f"sha256:{layer_digest}"}],
            "annotations": {"org.opencontainers.image.title": name},
        }).encode()
        digest = _blob(v2, manifest)
        link = f"sha256:{digest}".encode()
        repository = v2 / "repositories" / name
        for blob in (config_digest, layer_digest):
            _write(repository / "_layers" / "sha256" / blob / "link", f"sha256:{blob}".encode())
        _write(repository / "_manifests" / "revisions" / "sha256" / digest / "link", link)
        _write(repository / "_manifests" / "tags" / "latest" / "current" / "link", link)
        _write(repository / "_manifests" / "tags" / "latest" / "index" / "sha256" / digest / "link", link)


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process so far (Linux /proc), 0 where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def registry_alone(registry: Registry, names: list[str], threads: int) -> int:
    """The requests of an unchanged sync and nothing else; returns how many were made."""
    client = RegistryClient(registry)
    groups = pull_groups(names, max_count=-(-len(names) // max(threads, 1)))
    tokens = [(group, client.hold_pull_token(group)._token(repository_scope(group[0], "pull"))) for group in groups]
    base = registry.base_url
    timeout = (option("registry.timeout.value"), option("registry.read_timeout.value"))

    def run(part: list[tuple[list[str], str]]) -> None:
        for group, token in part:
            headers = {"Authorization": f"Bearer {token}", "Accept": OCI_MANIFEST}
            for name in group:
                for method, path in (("GET", f"/v2/{name}/tags/list"), ("HEAD", f"/v2/{name}/manifests/latest")):
                    response = transport.send(method, base + path, headers=headers, timeout=timeout, verify=False)
                    b"".join(response.iter_content(65536))
                    if response.status_code != 200:
                        raise CommandError(f"{method} {path}: {response.status_code}")

    workers = [threading.Thread(target=run, args=(tokens[i::threads],)) for i in range(min(threads, len(tokens)))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return 2 * len(names)


def registry_config(*, port: int, storage: Path) -> dict[str, Any]:
    return {
        "version": "0.1",
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True},
                    "cache": {"blobdescriptor": "inmemory"},
                    "maintenance": {"uploadpurging": {"enabled": False}}},
        "http": {"addr": f"127.0.0.1:{port}"},
        "auth": {"token": {"realm": "http://127.0.0.1:9/v2/token", "service": f"127.0.0.1:{port}",
                           "issuer": option("machine_fqdn.value"),
                           "rootcertbundle": str(certificate_path().resolve())}},
    }


class Command(BaseCommand):
    help = ("Start a local docker-registry, seed N repositories into its storage, and time a full catalog "
            "sync into the configured database (then a second, unchanged one). Everything it adds here is "
            "removed afterwards. Use a scratch database: the sync writes N repositories and their activities.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--repositories", type=int, default=1000, help="how many (default 1000)")
        parser.add_argument("--namespaces", type=int, default=10, help="spread over this many (default 10)")
        parser.add_argument("--binary", default=REGISTRY_BINARY, help=f"the registry (default {REGISTRY_BINARY})")

    def handle(self, *args: Any, **opts: Any) -> None:
        count, spread = opts["repositories"], opts["namespaces"]
        if not 1 <= count <= 1_000_000 or not 1 <= spread <= 1000:
            raise CommandError("--repositories must be 1 to 1,000,000 and --namespaces 1 to 1,000")
        if not Path(opts["binary"]).exists():
            raise CommandError(f"No registry at {opts['binary']} (Debian: apt install docker-registry)")
        if not User.objects.filter(username=User.INTERNAL_USERNAME).exists():
            raise CommandError("The internal account is missing: run `manage.py create_api_account` first")
        names = [f"bench{i % spread}/app{i:07}" for i in range(count)]
        work = Path(tempfile.mkdtemp(prefix="portus-bench-sync-"))
        process = None
        registry = None
        try:
            started = time.monotonic()
            seed_storage(work / "storage", names)
            self.stdout.write(f"seeded {count} repositories in {time.monotonic() - started:.1f} s")
            port = _free_port()
            (work / "config.yml").write_text(json.dumps(registry_config(port=port, storage=work / "storage")))
            log = (work / "registry.log").open("wb")
            process = subprocess.Popen([opts["binary"], "serve", str(work / "config.yml")], stdout=log,
                                       stderr=subprocess.STDOUT)
            self._wait(port, process, work)
            registry = Registry.objects.create(name=f"bench-sync-{port}", hostname=f"127.0.0.1:{port}",
                                               use_ssl=False)
            forget_tokens()
            readers = int(option("background.sync.concurrency"))
            for label in ("first sync (everything new)", "second sync (nothing changed)"):
                started, own, theirs = time.monotonic(), own_cpu_seconds(), cpu_seconds(process.pid)
                streamed = sync.StreamedWrites(registry)
                plan = sync.sync_plan(registry=registry, delete=True, on_read=streamed.add)
                read = time.monotonic() - started
                report = sync.sync_apply(plan=plan, record=False, written=streamed.flush())
                total = time.monotonic() - started
                self.stdout.write(
                    f"{label}: {total:.1f} s for {count} repositories ({count / total:.0f}/s; reading "
                    f"{read:.1f} s with the writes alongside, then writing {total - read:.1f} s, {readers} "
                    f"readers; CPU: this process "
                    f"{own_cpu_seconds() - own:.1f} s, the registry {cpu_seconds(process.pid) - theirs:.1f} s): "
                    f"{report.tags_added} added, {report.tags_updated} changed, "
                    f"{report.tags_removed} removed, outcome {report.outcome}")
                if report.outcome != sync.Outcome.COMPLETE:
                    raise CommandError(f"the sync did not complete: {report.errors[:3]}")
            started, own, theirs = time.monotonic(), own_cpu_seconds(), cpu_seconds(process.pid)
            made = registry_alone(registry, names, readers)
            took, theirs = time.monotonic() - started, cpu_seconds(process.pid) - theirs
            self.stdout.write(
                f"the registry alone (its requests of an unchanged sync, nothing else; {readers} threads): "
                f"{took:.1f} s for {made} requests ({made / took:.0f}/s; CPU: this process "
                f"{own_cpu_seconds() - own:.1f} s, the registry {theirs:.1f} s, "
                f"{theirs / made * 1000:.2f} ms per request)")
        finally:
            if registry is not None:
                registry.delete()
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
            shutil.rmtree(work, ignore_errors=True)

    def _wait(self, port: int, process: subprocess.Popen, work: Path) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError(f"the registry stopped: {(work / 'registry.log').read_text()[-2000:]}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code in (200, 401):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise CommandError("the registry did not answer within 30 s")
