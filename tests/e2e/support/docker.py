"""dockerd with its own containerd, the docker CLI and ctr, for end-to-end tests (flags: services.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from tests.e2e.support.services import (
    CONTAINERD_BINARY,
    CTR_NAMESPACE,
    DEFAULT_TIMEOUT,
    DOCKERD_BINARY,
    SYSTEM_CONTAINERD_SOCKET,
    Process,
    _kill_pid,
    _pid_alive,
    client_env,
    pids_mentioning,
    run,
    tail,
    unmount_all,
    wait_for,
)

# --- dockerd, docker CLI, ctr ----------------------------------------------------------------------------


def _default_docker_cli() -> str:
    # docker.io's CLI matches its daemon; another CLI earlier on PATH (e.g. /usr/local/bin) also works,
    # since the CLI negotiates the API version down.
    if os.path.exists("/usr/bin/docker"):
        return "/usr/bin/docker"
    return shutil.which("docker") or "docker"


_CONTAINERD_CONFIG = """version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{address}"

[ttrpc]
  address = "{address}.ttrpc"

[debug]
  address = "{debug}"
  level = "info"
"""


class DockerDaemon:
    """A dockerd of its own (vfs, no networking) with its containerd; see :func:`start_dockerd`."""

    def __init__(self, workdir: Path, exec_root: Path, docker_cli: str):
        self.workdir = workdir
        self.data_root = workdir / "docker-data"
        self.exec_root = exec_root
        self.socket = exec_root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.config_dir = workdir / "docker-config"  # DOCKER_CONFIG: the CLI's config.json lives here
        self.certs_dir = workdir / "etc-docker" / "certs.d"  # /etc/docker/certs.d, for a dockerd with `hosts`
        self.containerd_address = exec_root / "containerd" / "containerd.sock"
        self.ctr_namespace = CTR_NAMESPACE
        self.log_path = workdir / "dockerd.log"
        self.containerd_log_path: Path | None = None  # only when this module started containerd itself
        self.docker_cli = docker_cli
        self.process: Process | None = None
        self.containerd: Process | None = None
        self._stopped = False

    # clients

    def docker_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return client_env({"DOCKER_CONFIG": str(self.config_dir), "DOCKER_HOST": self.host, **(extra or {})})

    def docker(
        self,
        *args: str,
        check: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        """``docker -H unix://SOCK ARGS`` with ``DOCKER_CONFIG`` = ``self.config_dir``.

        Log in with ``.docker("login", "-u", U, "--password-stdin", "127.0.0.1:PORT", input=PASSWORD)``.
        """
        return run(
            [self.docker_cli, "-H", self.host, *args],
            env=self.docker_env(env),
            check=check,
            timeout=timeout,
            input=input,
        )

    def ctr(
        self,
        *args: str,
        namespace: str | None = None,
        check: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        """``ctr --address E/containerd/containerd.sock --namespace e2e ARGS``.

        Pull from the plain-HTTP registry with ``.ctr("images", "pull", "--plain-http", REF)``, adding
        ``"--user", "USER:PASS"`` for credentials and ``"--all-platforms"`` for a whole index. The ``e2e``
        namespace keeps these images apart from dockerd's own ``moby`` namespace.
        """
        return run(
            [
                "ctr",
                "--address",
                str(self.containerd_address),
                "--namespace",
                namespace or self.ctr_namespace,
                *args,
            ],
            env=client_env(env),
            check=check,
            timeout=timeout,
        )

    # logs and lifecycle

    def log_tail(self, lines: int = 80) -> str:
        text = f"--- dockerd log ({self.log_path}) ---\n{tail(self.log_path, lines)}"
        if self.containerd_log_path:
            log = self.containerd_log_path
            text += f"\n--- containerd log ({log}) ---\n{tail(log, lines)}"
        return text

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def stop(self, timeout: float = 20.0) -> None:
        """Stop dockerd (it stops its managed containerd and unmounts its data root), then make sure:
        kill whatever still runs from this daemon's exec root (containerd, shims), unmount what is still
        mounted under the data and exec roots, and remove the exec root. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self.process is not None:
            self.process.stop(timeout)
        if self.containerd is not None:
            self.containerd.stop(timeout)
        for _ in range(3):
            leftovers = [p for p in pids_mentioning(str(self.exec_root)) if _pid_alive(p)]
            if not leftovers:
                break
            for pid in leftovers:
                _kill_pid(pid)
            time.sleep(0.5)
        unmount_all(self.data_root, self.exec_root)
        shutil.rmtree(self.exec_root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self) -> str:
        return f"<DockerDaemon {self.host} alive={self.alive()}>"


def _in_own_etc(daemon: DockerDaemon, hosts: Mapping[str, str]) -> list[str]:
    """The command prefix that runs dockerd with /etc/docker and /etc/hosts of its own (see start_dockerd)."""
    etc = daemon.workdir / "etc-docker"
    daemon.certs_dir.mkdir(parents=True, exist_ok=True)
    hosts_file = daemon.workdir / "hosts"
    hosts_file.write_text("".join(f"{address} {name}\n" for name, address in hosts.items()))
    script = ('mkdir -p /etc/docker && mount --bind "$1" /etc/docker && mount --bind "$2" /etc/hosts '
              '&& shift 2 && exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(etc), str(hosts_file)]


def start_dockerd(
    workdir: str | os.PathLike,
    *,
    insecure_registries: Iterable[str] = (),
    timeout: float = 60.0,
    own_containerd: bool | None = None,
    docker_cli: str | None = None,
    extra_args: Sequence[str] = (),
    hosts: Mapping[str, str] | None = None,
) -> DockerDaemon:
    """Start a dockerd as root, isolated from any system docker, and wait for ``docker info``.

    Command: ``dockerd --config-file W/daemon.json --pidfile E/docker.pid --data-root W/docker-data
    --exec-root E -H unix://E/docker.sock --storage-driver=vfs --iptables=false --ip6tables=false
    --ip-forward=false --bridge=none --insecure-registry R…`` where W is ``workdir`` and E a short new
    directory in /tmp. dockerd then starts its managed containerd with socket
    ``E/containerd/containerd.sock``. If a system containerd socket exists (dockerd would attach to it) or
    ``own_containerd=True``, a containerd of our own is started at that same address and passed with
    ``--containerd``.

    ``insecure_registries`` (e.g. ``["127.0.0.1:5000"]``) are allowed over plain HTTP; dockerd treats
    127.0.0.0/8 that way by default anyway.

    With ``hosts`` (name → address, e.g. ``{"localhost": "::1"}``) dockerd runs in a mount namespace of its
    own where /etc/hosts holds only those names and /etc/docker is ``W/etc-docker``: its TLS trust for a
    registry goes in ``daemon.certs_dir`` / ``HOST:PORT`` / ``ca.crt`` (dockerd reads
    /etc/docker/certs.d, nothing else, for each request), and nothing of the machine's is changed.
    """
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    exec_root = Path(tempfile.mkdtemp(prefix="e2e-dockerd-", dir="/tmp"))
    daemon = DockerDaemon(work, exec_root, docker_cli or _default_docker_cli())
    daemon.data_root.mkdir(exist_ok=True)
    daemon.config_dir.mkdir(exist_ok=True)
    config_file = work / "daemon.json"
    config_file.write_text("{}\n")
    if own_containerd is None:
        own_containerd = os.path.exists(SYSTEM_CONTAINERD_SOCKET)

    try:
        args = [
            DOCKERD_BINARY,
            "--config-file",
            str(config_file),
            "--pidfile",
            str(exec_root / "docker.pid"),
            "--data-root",
            str(daemon.data_root),
            "--exec-root",
            str(exec_root),
            "-H",
            daemon.host,
            "--storage-driver=vfs",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-forward=false",
            "--bridge=none",
        ]
        for registry in insecure_registries:
            args += ["--insecure-registry", registry]
        if own_containerd:
            cd_dir = exec_root / "containerd"
            cd_dir.mkdir(parents=True, exist_ok=True)
            cd_config = cd_dir / "containerd.toml"
            cd_config.write_text(
                _CONTAINERD_CONFIG.format(
                    root=daemon.data_root / "containerd" / "daemon",
                    state=cd_dir / "daemon",
                    address=daemon.containerd_address,
                    debug=cd_dir / "containerd-debug.sock",
                )
            )
            daemon.containerd_log_path = work / "containerd.log"
            daemon.containerd = Process(
                "containerd",
                [CONTAINERD_BINARY, "--config", str(cd_config)],
                log_path=daemon.containerd_log_path,
            )
            wait_for(
                lambda: daemon.ctr("version", check=False, timeout=10).returncode == 0,
                timeout=timeout,
                what="containerd",
                alive=daemon.containerd.alive,
                logs=daemon.log_tail,
            )
            args += ["--containerd", str(daemon.containerd_address)]
        args += list(extra_args)
        if hosts is not None:
            args = _in_own_etc(daemon, hosts) + args
        daemon.process = Process("dockerd", args, log_path=daemon.log_path, env=client_env())
        wait_for(
            lambda: daemon.docker("info", check=False, timeout=10).returncode == 0,
            timeout=timeout,
            what="dockerd",
            interval=0.2,
            alive=daemon.alive,
            logs=daemon.log_tail,
        )
        if not own_containerd:
            wait_for(
                lambda: daemon.containerd_address.exists(),
                timeout=10,
                what=f"dockerd's containerd at {daemon.containerd_address}",
                logs=daemon.log_tail,
            )
    except BaseException:
        daemon.stop()
        raise
    return daemon
