"""Start and drive the real registry and the real clients for end-to-end tests.

Standard library + requests only. Everything listens on and talks to 127.0.0.1. Every helper that
starts a process returns an object with ``stop()`` (terminate, wait, clean up) and ``log_path``
(``log_tail()`` gives the last lines), so a failing test can show what the process said.

Client commands return ``subprocess.CompletedProcess`` with text output; with ``check=True`` (the
default) a non-zero exit raises :class:`CommandFailed`, whose message holds the command, the exit status,
stdout and stderr.

Flags that turned out necessary (see README.md beside this file for what fails without them):

- registry: ``/usr/bin/docker-registry serve CONFIG`` (Distribution 2.8). ``http.addr`` must be
  ``127.0.0.1:PORT``; ``storage.delete.enabled: true`` for deletes.
- dockerd: ``--config-file EMPTY --pidfile P --data-root D --exec-root E -H unix://E/docker.sock
  --storage-driver=vfs --iptables=false --ip6tables=false --ip-forward=false --bridge=none
  [--insecure-registry 127.0.0.1:PORT]``. E is a short directory in /tmp (unix socket paths are limited
  to 108 bytes). dockerd starts its own containerd at ``E/containerd/containerd.sock``, unless a system
  containerd socket exists at /run/containerd/containerd.sock (dockerd would then silently use that one):
  in that case this module starts a containerd of its own and passes ``--containerd``.
- docker CLI: ``docker -H unix://E/docker.sock`` with ``DOCKER_CONFIG`` set to a directory of the test
  (``docker login`` writes config.json there, never to ~/.docker). 127.0.0.0/8 is an insecure
  (plain HTTP) registry for dockerd by default; ``--insecure-registry`` is passed anyway.
- ctr: ``ctr --address E/containerd/containerd.sock --namespace e2e images pull --plain-http REF``
  (``--user USER:PASS`` for credentials, ``--all-platforms`` for every child of an index).
- podman: ``podman --root R/storage --runroot R/run --storage-driver vfs --cgroup-manager cgroupfs
  --events-backend file --tmpdir R/tmp --network-backend netavark --network-config-dir R/net`` (the
  network flags are hidden in podman 4.3 but accepted) with
  ``REGISTRY_AUTH_FILE=R/auth.json`` (the file must exist) and ``CONTAINERS_REGISTRIES_CONF``;
  ``--tls-verify=false`` on pull / push / login.
- skopeo: ``skopeo --insecure-policy --tmpdir T`` with ``REGISTRY_AUTH_FILE`` and
  ``CONTAINERS_REGISTRIES_CONF``;
  ``--src-tls-verify=false --dest-tls-verify=false`` on copy / sync, ``--tls-verify=false`` on inspect /
  delete / list-tags / login.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import requests

LOOPBACK = "127.0.0.1"
REGISTRY_BINARY = "/usr/bin/docker-registry"
DOCKERD_BINARY = "/usr/sbin/dockerd"
CONTAINERD_BINARY = "/usr/bin/containerd"
SYSTEM_CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
CTR_NAMESPACE = "e2e"
DEFAULT_TIMEOUT = 180.0

# Variables of the caller's environment that would send a client to another daemon, store or auth file.
_ISOLATED_VARS = (
    "DOCKER_HOST",
    "DOCKER_CONFIG",
    "DOCKER_CONTEXT",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "CONTAINER_HOST",
    "CONTAINER_CONNECTION",
    "CONTAINERS_CONF",
    "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF",
    "REGISTRY_AUTH_FILE",
    "CONTAINERD_ADDRESS",
    "CONTAINERD_NAMESPACE",
)


# --- generic helpers -----------------------------------------------------------------------------------


class CommandFailed(AssertionError):
    """A client command exited non-zero (or timed out) while ``check=True``."""

    def __init__(self, cmd: Sequence[str], returncode: int | None, stdout: str, stderr: str, note: str = ""):
        self.cmd = list(cmd)
        self.returncode = returncode
        self.stdout = stdout or ""
        self.stderr = stderr or ""
        status = note or f"exit status {returncode}"
        super().__init__(
            f"command failed ({status}): {' '.join(self.cmd)}\n"
            f"--- stderr ---\n{_clip(self.stderr)}\n--- stdout ---\n{_clip(self.stdout)}"
        )


def _clip(text: str, limit: int = 6000) -> str:
    text = text.rstrip()
    return text if len(text) <= limit else "…" + text[-limit:]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def client_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without variables that point clients elsewhere, loopback never proxied."""
    env = {k: v for k, v in os.environ.items() if k not in _ISOLATED_VARS}
    no_proxy = ",".join(p for p in (env.get("NO_PROXY", ""), "127.0.0.1,localhost") if p)
    env["NO_PROXY"] = env["no_proxy"] = no_proxy
    if extra:
        env.update(extra)
    return env


def run(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    input: str | None = None,
    cwd: str | os.PathLike | None = None,
) -> subprocess.CompletedProcess:
    """Run a command, capture text output; :class:`CommandFailed` on failure when ``check``."""
    cmd = [str(c) for c in cmd]
    try:
        proc = subprocess.run(
            cmd,
            env=dict(env) if env is not None else client_env(),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise CommandFailed(cmd, None, out, err, note=f"timed out after {timeout:g} s") from None
    if check and proc.returncode != 0:
        raise CommandFailed(cmd, proc.returncode, proc.stdout, proc.stderr)
    return proc


def wait_for(
    predicate: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    alive: Callable[[], bool] | None = None,
    logs: Callable[[], str] | None = None,
) -> None:
    """Poll ``predicate`` until true; fail early when ``alive()`` turns false."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception:  # not ready yet  # noqa: S110
            pass
        if alive is not None and not alive():
            raise RuntimeError(f"{what}: the process exited\n{logs() if logs else ''}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout:g} s\n{logs() if logs else ''}")
        time.sleep(interval)


def tail(path: str | os.PathLike, lines: int = 80) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 256 * 1024))
            data = f.read().decode(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(data.splitlines()[-lines:])


def _kill_pid(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is as good as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pids_mentioning(text: str) -> list[int]:
    """Ids of processes whose command line contains ``text`` (a path unique to one test's daemons)."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry))
    return found


def mounts_under(*roots: str | os.PathLike) -> list[str]:
    """Mount points at or below any of ``roots``, deepest first."""
    prefixes = [os.path.realpath(r) for r in roots]
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if any(point == p or point.startswith(p.rstrip("/") + "/") for p in prefixes):
                points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def unmount_all(*roots: str | os.PathLike) -> list[str]:
    """Unmount everything at or below ``roots`` (lazily if busy); returns what was unmounted."""
    done = []
    for _ in range(5):  # a bind mount may be stacked several times
        points = mounts_under(*roots)
        if not points:
            break
        for point in points:
            if run(["umount", point], check=False, timeout=30).returncode != 0:
                run(["umount", "-l", point], check=False, timeout=30)
            done.append(point)
    return done


class Process:
    """A started daemon: ``stop()`` terminates it and waits; its output is in ``log_path``."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        log_path: str | os.PathLike,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike | None = None,
    ):
        self.name = name
        self.args = [str(a) for a in args]
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else client_env(),
            cwd=cwd,
            start_new_session=True,  # Ctrl-C on the test run does not hit it before stop() does
        )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 80) -> str:
        return f"--- {self.name} log ({self.log_path}) ---\n{tail(self.log_path, lines)}"

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait up to ``timeout`` s, then SIGKILL. Idempotent. Returns the exit status."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        if not self._log.closed:
            self._log.close()
        return self.popen.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} pid={self.pid} alive={self.alive()}>"


# --- registry ------------------------------------------------------------------------------------------


class Registry(Process):
    """A running Docker Distribution registry; ``url`` is ``http://127.0.0.1:PORT`` (``https://`` and the
    host name clients use, for one serving TLS)."""

    def __init__(self, *args, host: str, port: int, config_path: Path, scheme: str = "http", **kwargs):
        super().__init__(*args, **kwargs)
        self.host = host
        self.port = port
        self.config_path = config_path
        self.scheme = scheme

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, the registry part of an image reference."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def ref(self, repository: str, tag_or_digest: str = "latest") -> str:
        """``127.0.0.1:PORT/REPO:TAG`` or ``…/REPO@sha256:…``."""
        sep = "@" if tag_or_digest.startswith("sha256:") else ":"
        return f"{self.address}/{repository}{sep}{tag_or_digest}"


def registry_config(
    *,
    port: int,
    storage_dir: str | os.PathLike,
    delete: bool = True,
    auth: Mapping | None = None,
    notifications: Mapping | None = None,
    log_level: str = "info",
) -> dict:
    """A registry configuration as a dict: filesystem storage, listening on 127.0.0.1:``port``.

    ``auth`` is the registry's ``auth`` section, for example ``{"token": {"realm": …, "service": …,
    "issuer": …, "rootcertbundle": …}}``; ``notifications`` its ``notifications`` section, for example
    ``{"endpoints": [{"name": "portus", "url": …, "headers": {"Authorization": ["Bearer S"]},
    "timeout": "1s", "threshold": 5, "backoff": "1s"}]}``.
    """
    config: dict = {
        "version": "0.1",
        "log": {"level": log_level, "fields": {"service": "registry"}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage_dir)},
            "delete": {"enabled": bool(delete)},
            "cache": {"blobdescriptor": "inmemory"},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"{LOOPBACK}:{port}", "headers": {"X-Content-Type-Options": ["nosniff"]}},
    }
    if auth:
        config["auth"] = dict(auth)
    if notifications:
        config["notifications"] = dict(notifications)
    return config


def write_registry_config(path: str | os.PathLike, config: Mapping) -> Path:
    """Write ``config`` as JSON, which is valid YAML for the registry's parser."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(config, indent=2) + "\n")
    return target


def _registry_listen_address(text: str) -> str | None:
    try:
        return json.loads(text)["http"]["addr"]
    except (ValueError, KeyError, TypeError):
        pass
    in_http = False
    http_indent = 0
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        key = line.strip()
        if key.startswith("http:"):
            in_http, http_indent = True, indent
            continue
        if in_http:
            if indent <= http_indent:
                in_http = False
            elif key.startswith("addr:"):
                return key.split(":", 1)[1].strip().strip("'\"")
    return None


# The registry runs as Portus tells operators to run it: with this GOMAXPROCS in its environment
# (realm/management/commands/registry_config.py says why; a test keeps the two equal). An `env` that names
# GOMAXPROCS ("" for Go's own default, one per core) has the last word.
REGISTRY_GOMAXPROCS = 16


def start_registry(
    config_yml_path: str | os.PathLike,
    *,
    log_path: str | os.PathLike,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    binary: str = REGISTRY_BINARY,
    ca_file: str | os.PathLike | None = None,
    host: str = LOOPBACK,
) -> Registry:
    """Start ``docker-registry serve CONFIG`` and wait until ``GET /v2/`` answers 200 or 401.

    The port comes from the config's ``http.addr`` (or ``REGISTRY_HTTP_ADDR`` in ``env``), which must be
    ``127.0.0.1:PORT`` or ``localhost:PORT``. Extra ``env`` entries reach the registry (for example
    ``REGISTRY_AUTH_TOKEN_REALM``, or ``GOMAXPROCS``). A registry serving TLS (``http.tls``) is given
    ``ca_file``, the CA that signed its certificate, and ``host``, the name clients reach it by (its
    certificate's).
    """
    config_path = Path(config_yml_path)
    addr = (env or {}).get("REGISTRY_HTTP_ADDR") or _registry_listen_address(config_path.read_text())
    if not addr or ":" not in addr:
        raise ValueError(f"{config_path}: no http.addr with a port")
    listen_host, port_text = addr.rsplit(":", 1)
    if listen_host not in (LOOPBACK, "localhost"):
        raise ValueError(f"{config_path}: http.addr {addr!r} must listen on {LOOPBACK}")
    proc = Registry(
        "registry",
        [binary, "serve", str(config_path)],
        log_path=log_path,
        env=client_env({"GOMAXPROCS": str(REGISTRY_GOMAXPROCS), **(env or {})}),
        host=host,
        port=int(port_text),
        config_path=config_path,
        scheme="https" if ca_file else "http",
    )
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca_file) if ca_file else True

    def ready() -> bool:
        return session.get(f"{proc.url}/v2/", timeout=2).status_code in (200, 401)

    try:
        wait_for(
            ready, timeout=timeout, what=f"registry on {proc.address}", alive=proc.alive, logs=proc.log_tail
        )
    except BaseException:
        proc.stop()
        raise
    finally:
        session.close()
    return proc
