"""podman and skopeo with storage, auth files and temp folders of their own (flags: services.py)."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.e2e.support.services import (
    DEFAULT_TIMEOUT,
    client_env,
    run,
)

# --- podman and skopeo -----------------------------------------------------------------------------------

_REGISTRIES_CONF = 'unqualified-search-registries = []\nshort-name-mode = "permissive"\n'


def _insert_after_subcommand(args: Sequence[str], flags: Sequence[str], groups: set[str]) -> list[str]:
    """Put ``flags`` right after the (possibly two-word, e.g. ``manifest push``) subcommand."""
    args = list(args)
    n = 2 if len(args) > 1 and args[0] in groups else 1
    return args[:n] + list(flags) + args[n:]


class Podman:
    """Rootful podman with its own storage under ``root`` (vfs), auth file and temp dirs."""

    TLS_SUBCOMMANDS = {
        "pull",
        "push",
        "login",
        "search",
        "run",
        "create",
        "image pull",
        "image push",
        "manifest push",
        "manifest add",
        "manifest inspect",
    }

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        for sub in ("storage", "run", "tmp", "net"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.authfile = self.root / "auth.json"
        if not self.authfile.exists():  # podman refuses a REGISTRY_AUTH_FILE that does not exist
            self.authfile.write_text('{"auths": {}}\n')
        self.registries_conf = self.root / "registries.conf"
        self.registries_conf.write_text(_REGISTRIES_CONF)

    def global_args(self) -> list[str]:
        return [
            "--root",
            str(self.root / "storage"),
            "--runroot",
            str(self.root / "run"),
            "--storage-driver",
            "vfs",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
            "--tmpdir",
            str(self.root / "tmp"),
            "--network-backend",
            "netavark",
            "--network-config-dir",
            str(self.root / "net"),
        ]

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return client_env(
            {
                "REGISTRY_AUTH_FILE": str(self.authfile),
                "CONTAINERS_REGISTRIES_CONF": str(self.registries_conf),
                "TMPDIR": str(self.root / "tmp"),
                **(extra or {}),
            }
        )

    def __call__(
        self,
        *args: str,
        check: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        tls_verify: bool | None = False,
    ) -> subprocess.CompletedProcess:
        args = [str(a) for a in args]
        key = " ".join(args[:2]) if args and args[0] in ("image", "manifest") else (args[0] if args else "")
        if (
            tls_verify is not None
            and key in self.TLS_SUBCOMMANDS
            and not any(a.startswith("--tls-verify") for a in args)
        ):
            args = _insert_after_subcommand(
                args, [f"--tls-verify={str(tls_verify).lower()}"], {"image", "manifest"}
            )
        return run(
            ["podman", *self.global_args(), *args],
            env=self.env(env),
            check=check,
            timeout=timeout,
            input=input,
        )


def podman(
    *args: str,
    root: str | os.PathLike,
    check: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    tls_verify: bool | None = False,
) -> subprocess.CompletedProcess:
    """Run podman with isolated storage in ``root`` (see :class:`Podman`).

    ``--tls-verify=false`` is added to pull / push / login / search / run / create / manifest push…
    unless ``tls_verify`` is None or the args already say. Credentials: ``podman("login", "-u", U,
    "--password-stdin", "127.0.0.1:PORT", root=R, input=PASSWORD)`` writes ``R/auth.json``.
    Examples: ``podman("import", TAR, REF, root=R)``, ``podman("push", REF, root=R)``,
    ``podman("pull", REF, root=R)``.
    """
    return Podman(root)(*args, check=check, timeout=timeout, input=input, env=env, tls_verify=tls_verify)


_skopeo_home: Path | None = None


def _default_skopeo_home() -> Path:
    global _skopeo_home
    if _skopeo_home is None:
        _skopeo_home = Path(tempfile.mkdtemp(prefix="e2e-skopeo-"))
        atexit.register(shutil.rmtree, _skopeo_home, True)
    return _skopeo_home


def skopeo(
    *args: str,
    home: str | os.PathLike | None = None,
    check: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    tls_verify: bool | None = False,
) -> subprocess.CompletedProcess:
    """Run ``skopeo --insecure-policy --tmpdir H/tmp ARGS`` with ``REGISTRY_AUTH_FILE=H/auth.json`` and
    ``CONTAINERS_REGISTRIES_CONF=H/registries.conf``, H being ``home`` (default: one temp dir per test
    process).

    TLS flags are added unless ``tls_verify`` is None: ``--src-tls-verify=false --dest-tls-verify=false``
    for copy / sync, ``--tls-verify=false`` for inspect / delete / list-tags / login.
    Examples: ``skopeo("copy", "oci:DIR:TAG", "docker://127.0.0.1:PORT/ns/repo:TAG")``,
    ``skopeo("copy", "--all", …)`` for an index, ``skopeo("inspect", "--raw", "docker://…")``,
    ``skopeo("delete", "docker://…@sha256:…")``, ``skopeo("copy", "--dest-creds", "U:P", …)``.
    """
    h = Path(home).resolve() if home is not None else _default_skopeo_home()
    (h / "tmp").mkdir(parents=True, exist_ok=True)
    authfile = h / "auth.json"
    if not authfile.exists():
        authfile.write_text('{"auths": {}}\n')
    conf = h / "registries.conf"
    if not conf.exists():
        conf.write_text(_REGISTRIES_CONF)
    args = [str(a) for a in args]
    sub = args[0] if args else ""
    if tls_verify is not None and not any("tls-verify" in a for a in args):
        value = str(tls_verify).lower()
        if sub in ("copy", "sync"):
            args = _insert_after_subcommand(
                args, [f"--src-tls-verify={value}", f"--dest-tls-verify={value}"], set()
            )
        elif sub in ("inspect", "delete", "list-tags", "login"):
            args = _insert_after_subcommand(args, [f"--tls-verify={value}"], set())
    cmd = ["skopeo", "--insecure-policy", "--tmpdir", str(h / "tmp"), *args]
    return run(
        cmd,
        env=client_env(
            {
                "REGISTRY_AUTH_FILE": str(authfile),
                "CONTAINERS_REGISTRIES_CONF": str(conf),
                "TMPDIR": str(h / "tmp"),
                **(env or {}),
            }
        ),
        check=check,
        timeout=timeout,
        input=input,
    )


class Buildah:
    """buildah with its own storage under ``root`` (vfs), auth file and temp dir. Used:
    ``from scratch``, ``copy CTR SRC DEST``, ``commit CTR IMAGE``, ``login``, ``push``, ``pull``; TLS flags are
    the caller's (``--tls-verify=true --cert-dir D``)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        for sub in ("storage", "run", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.authfile = self.root / "auth.json"
        if not self.authfile.exists():
            self.authfile.write_text('{"auths": {}}\n')
        self.registries_conf = self.root / "registries.conf"
        self.registries_conf.write_text(_REGISTRIES_CONF)

    def __call__(self, *args: str, check: bool = True, timeout: float = DEFAULT_TIMEOUT,
                 input: str | None = None) -> subprocess.CompletedProcess:
        return run(
            ["buildah", "--root", str(self.root / "storage"), "--runroot", str(self.root / "run"),
             "--storage-driver", "vfs", *[str(a) for a in args]],
            env=client_env({"REGISTRY_AUTH_FILE": str(self.authfile),
                            "CONTAINERS_REGISTRIES_CONF": str(self.registries_conf),
                            "TMPDIR": str(self.root / "tmp")}),
            check=check, timeout=timeout, input=input,
        )

    def remove_all(self) -> None:
        self("rm", "--all", check=False)
        self("rmi", "--all", "--force", check=False)
