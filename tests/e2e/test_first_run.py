"""`scripts/run` itself, in a copy of the project: what it prints works pasted into a fresh shell, a push
shows up, a restart greets an instance that has accounts, and stopping it leaves no process behind."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import ROOT
from tests.e2e.support import services
from tests.e2e.support.images import write_rootfs_tarball

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ADMIN, ADMIN_PASSWORD = "ada", "first-run-correct-horse"


def _copy_project(target: Path) -> None:
    """The project's files as a checkout has them, and a .venv that borrows the installed packages (so
    scripts/bootstrap finds it up to date and installs nothing), without the editable install's path
    back to the original folder."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    venv = target / ".venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([venv / "bin" / "python", "-c", where], check=True, capture_output=True,
                               text=True).stdout.strip())
    (site / "borrowed-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    stamp = hashlib.sha256((target / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (venv / f".installed-{stamp}").touch()


class Run:
    """scripts/run started as a terminal would (its own process group) in a bare environment."""

    def __init__(self, project: Path, home: Path, port: int, registry_port: int, log: Path) -> None:
        self.project, self.log = project, log
        env = {"PATH": PATH, "HOME": str(home), "PORT": str(port), "REGISTRY_PORT": str(registry_port)}
        self._out = open(log, "wb")
        self.popen = subprocess.Popen(["scripts/run"], cwd=project, env=env, stdin=subprocess.DEVNULL,
                                      stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{port}"
        services.wait_for(lambda: "Stop with Ctrl-C" in self.output(), timeout=240, what="scripts/run's steps",
                          alive=lambda: self.popen.poll() is None, logs=self.output)
        services.wait_for(lambda: requests.get(f"{self.url}/v2/token", timeout=2).status_code in (200, 401),
                          timeout=60, what="portus web", alive=lambda: self.popen.poll() is None, logs=self.output)
        services.wait_for(lambda: requests.get(f"http://127.0.0.1:{registry_port}/v2/", timeout=2).status_code == 401,
                          timeout=30, what="the registry", alive=lambda: self.popen.poll() is None,
                          logs=lambda: self.output() + services.tail(project / "var" / "registry.log"))

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def steps(self) -> str:
        text = self.output()
        return text[text.index("Portus is starting at"):text.index("every process started here stops") + 40]

    def commands(self) -> list[str]:
        return [line.strip() for line in self.steps().splitlines() if line.startswith("      ")]

    def started(self) -> list[int]:
        """Every process of the script's group, the script included."""
        return _group(self.popen.pid)

    def stop(self, sig: int) -> int:
        pid = int(re.search(r"`kill (\d+)`", self.steps()).group(1))
        assert pid == self.popen.pid
        os.kill(pid, sig)
        try:
            return self.popen.wait(60)
        finally:
            self._out.close()


def _group(pgid: int) -> list[int]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry))
    return found


def _working_in(folder: Path) -> list[int]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd == str(folder) or cwd.startswith(f"{folder}/"):
            found.append(int(entry))
    return found


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _podman_env(root: Path, home: Path) -> dict[str, str]:
    """A fresh shell's environment for podman, its storage and auth file kept in `root`."""
    for sub in ("storage", "run", "tmp", "net"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "storage.conf").write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{root}/storage"\n'
                                       f'runroot = "{root}/run"\n')
    temporary, networks = root / "tmp", root / "net"
    (root / "containers.conf").write_text(
        f'[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\ntmp_dir = "{temporary}"\n'
        f'[network]\nnetwork_backend = "netavark"\nnetwork_config_dir = "{networks}"\n')
    (root / "registries.conf").write_text('unqualified-search-registries = []\nshort-name-mode = "permissive"\n')
    (root / "auth.json").write_text('{"auths": {}}\n')
    return {"PATH": PATH, "HOME": str(home), "TMPDIR": str(root / "tmp"),
            "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"), "CONTAINERS_CONF": str(root / "containers.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(root / "registries.conf"), "REGISTRY_AUTH_FILE": str(root / "auth.json")}


def _shell(line: str, *, env: dict, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess:
    return services.run(["bash", "-c", line], env=env, cwd=cwd, input=input, timeout=180)


def _sign_up(url: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    page = session.get(f"{url}/users/sign_up", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(f"{url}/users/sign_up", timeout=30, headers={"Referer": f"{url}/users/sign_up"},
                          data={"csrfmiddlewaretoken": token, "username": ADMIN, "email": f"{ADMIN}@example.org",
                                "password": ADMIN_PASSWORD, "password_confirm": ADMIN_PASSWORD})
    assert answer.status_code == 200 and "/users/sign_up" not in answer.url, answer.text[:2000]
    return session


def _tags(session: requests.Session, url: str, full_name: str) -> set[str]:
    repositories = session.get(f"{url}/api/v1/repositories", params={"all": "true"}, timeout=10).json()
    repo = next((r for r in repositories if r["full_name"] == full_name), None)
    if repo is None:
        return set()
    return {t["name"] for t in session.get(f"{url}/api/v1/repositories/{repo['id']}/tags", timeout=10).json()}


@pytest.fixture
def folders(tmp_path):
    podman_root = Path(tempfile.mkdtemp(prefix="e2e-fr-"))  # podman wants a short runroot path
    yield tmp_path, podman_root
    subprocess.run(["podman", "system", "reset", "--force"], env=_podman_env(podman_root, tmp_path / "home"),
                   capture_output=True, check=False)
    shutil.rmtree(podman_root, ignore_errors=True)


def test_scripts_run_works_as_printed_and_stops_everything_it_started(folders):
    tmp, podman_root = folders
    project, home = tmp / "portus", tmp / "home"
    project.mkdir()
    home.mkdir()
    _copy_project(project)
    port, registry_port = services.free_port(), services.free_port()
    registry = f"127.0.0.1:{registry_port}"

    first = Run(project, home, port, registry_port, tmp / "first-run.log")
    try:
        steps = first.steps()
        print(steps)
        assert f"{first.url}/users/sign_up : the first account becomes the administrator" in steps
        assert f"{first.url}/api/docs" in steps
        assert requests.get(f"{first.url}/api/docs", timeout=10).status_code == 200
        session = _sign_up(first.url)

        # Every printed command, pasted into a new shell (placeholders filled, podman given the password).
        fresh = _podman_env(podman_root, home)
        image = write_rootfs_tarball(tmp / "rootfs.tar", {"etc/first-run": "hello\n"})
        _shell(f"podman import {image} localhost/first-run:src", env=fresh, cwd=home)
        commands = first.commands()
        assert [c.split()[:2] for c in commands] == [["podman", "login"], ["podman", "tag"], ["podman", "push"],
                                                     [".venv/bin/python", "manage.py"]], commands
        for line in commands:
            line = line.replace("<image>", "localhost/first-run:src").replace("<your user name>", ADMIN)
            if line.startswith("podman login"):
                _shell(f"{line} -u {ADMIN} --password-stdin", env=fresh, cwd=home, input=ADMIN_PASSWORD)
            elif line.startswith("podman"):
                _shell(line, env=fresh, cwd=home)
            else:  # a manage.py command, in the project's folder, knowing nothing of the script's environment
                done = _shell(line, env={"PATH": PATH, "HOME": str(home)}, cwd=project)
                assert "Traceback" not in done.stderr, done.stderr
        services.wait_for(lambda: "latest" in _tags(session, first.url, f"{ADMIN}/app"), timeout=30,
                          what="the pushed tag in the API", logs=first.output)
        config = (project / "var" / "registry.yml").read_text()
        assert f"issuer: {(project / 'var' / 'machine_fqdn').read_text().strip()}" in config
        assert f"realm: {first.url}/v2/token" in config and f"service: {registry}" in config

        started = first.started()
        assert len(started) >= 5, started  # the script, background, gunicorn and its workers, the registry
    finally:
        status = first.stop(signal.SIGTERM)
    _assert_all_gone(first, project, port, registry_port, status)

    # A restart: the accounts are there, so no first-admin advice; the image is still listed.
    second = Run(project, home, port, registry_port, tmp / "second-run.log")
    try:
        steps = second.steps()
        assert "sign_up" not in steps and "administrator" not in steps
        assert f"Sign in at {second.url}/users/sign_in" in steps
        assert "latest" in _tags(_sign_in(second.url), second.url, f"{ADMIN}/app")
        _shell(f"podman pull --tls-verify=false {registry}/{ADMIN}/app:latest", env=fresh, cwd=home)
    finally:
        status = second.stop(signal.SIGINT)
    _assert_all_gone(second, project, port, registry_port, status)


def _sign_in(url: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    page = session.get(f"{url}/users/sign_in", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    session.post(f"{url}/users/sign_in", timeout=30, headers={"Referer": f"{url}/users/sign_in"},
                 data={"csrfmiddlewaretoken": token, "username": ADMIN, "password": ADMIN_PASSWORD})
    return session


def _assert_all_gone(run: Run, project: Path, port: int, registry_port: int, status: int) -> None:
    # Checked the moment the script has ended: it waits for what it started.
    assert status == 0, run.output()[-3000:]
    assert not _group(run.popen.pid), _group(run.popen.pid)
    assert not _working_in(project), _working_in(project)
    assert not _listening(port) and not _listening(registry_port)
