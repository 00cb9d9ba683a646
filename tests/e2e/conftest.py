"""The end-to-end stack: this service under gunicorn with its background process, a real Docker
Distribution registry configured by `manage.py registry_config`, and named actors."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from bench.database import new_database
from tests.e2e.support import services

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "e2e-correct-horse"
WEBHOOK_SECRET = "e2e-webhook-secret"

# The named actors every stack starts with; a stack adds its teams and namespaces between the two halves.
ACTORS_SCRIPT = """
import json
from accounts.services import user_create, application_token_create
from teams.models import Role
from teams.services import team_create, team_member_add
from namespaces.services import namespace_create
from registries.models import Registry
pw = {password!r}
made = {{}}
for name, admin in [("admin", True), ("olivia", False), ("carl", False), ("vera", False), ("oscar", False)]:
    made[name] = user_create(username=name, email=name + "@example.org", password=pw, admin=admin,
                             check_password=False)
"""
ADMIN_TOKEN_SCRIPT = """
_, token = application_token_create(user=made["admin"], application="e2e", by=made["admin"])
print("SETUP" + json.dumps({{"admin_token": token}}))
"""
SETUP_SCRIPT = ACTORS_SCRIPT + """
team = team_create(name="qa", owner=made["olivia"])
team_member_add(team=team, user=made["carl"], role=Role.CONTRIBUTOR, by=made["olivia"])
team_member_add(team=team, user=made["vera"], role=Role.VIEWER, by=made["olivia"])
namespace_create(name="qa", team=team, by=made["olivia"], registry=Registry.objects.get())
""" + ADMIN_TOKEN_SCRIPT


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def _e2e_database(tmp: Path, label: str = "e2e") -> tuple[str, callable]:
    """A database of its own: PostgreSQL when the suite runs on it, else a SQLite file."""
    prefix = urlparse(os.environ.get("DATABASE_URL", "")).path.lstrip("/") or "portus"
    url, _, drop = new_database(tmp, label, prefix=prefix, sqlite_name="portus.sqlite3")
    return url, drop


@dataclass
class Stack:
    root: Path
    env: dict
    web_url: str
    registry: services.Registry
    admin_token: str
    processes: list = field(default_factory=list)
    web_args: list = field(default_factory=list)

    def manage(self, *args: str, check: bool = True):
        return services.run([sys.executable, "manage.py", *args], env=self.env, cwd=ROOT, check=check)

    def api(self, path: str, method: str = "GET", **kwargs) -> requests.Response:
        session = requests.Session()
        session.trust_env = False
        return session.request(method, f"{self.web_url}/api/v1{path}", timeout=30,
                               headers={"Portus-Auth": f"admin:{self.admin_token}"}, **kwargs)

    def logs(self) -> str:
        return "\n".join(p.log_tail(60) for p in self.processes)

    def start_web(self, **env: str) -> services.Process:
        """Starts gunicorn (again) with the stack's environment plus ``env``, and waits until it answers."""
        self.env.update(env)
        web = services.Process("portus-web", self.web_args, log_path=self.root / "web.log", env=self.env, cwd=ROOT)
        self.processes.append(web)
        services.wait_for(lambda: requests.get(f"{self.web_url}/v2/token", timeout=2).status_code in (200, 401),
                          timeout=60, what="portus web", alive=web.alive, logs=web.log_tail)
        return web

    def restart_registry(self) -> None:
        """Stops the registry and starts it again on the same configuration file (which it reads, with
        its rootcertbundle, only at start-up)."""
        self.registry.stop()
        self.processes.remove(self.registry)
        self.registry = services.start_registry(self.registry.config_path, log_path=self.root / "registry.log")
        self.processes.append(self.registry)

    def repository(self, full_name: str) -> dict | None:
        response = self.api("/repositories", params={"all": "true"})
        response.raise_for_status()
        return next((r for r in response.json() if r["full_name"] == full_name), None)

    def tags(self, full_name: str) -> dict[str, dict]:
        repo = self.repository(full_name)
        if repo is None:
            return {}
        response = self.api(f"/repositories/{repo['id']}/tags")
        response.raise_for_status()
        return {t["name"]: t for t in response.json()}

    def wait_for_tag(self, full_name: str, tag: str, digest: str, timeout: float = 20.0) -> tuple[dict, float]:
        """The tag as the API shows it, and how long after the call it appeared."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            found = self.tags(full_name).get(tag)
            if found is not None and found["digest"] == digest:
                return found, time.monotonic() - started
            if time.monotonic() > deadline:
                raise AssertionError(f"{full_name}:{tag}@{digest} did not show up within {timeout} s "
                                     f"(API has {found})\n{self.logs()}")
            time.sleep(0.1)

    def wait_for_no_tag(self, full_name: str, tag: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while tag in self.tags(full_name):
            if time.monotonic() > deadline:
                raise AssertionError(f"{full_name}:{tag} is still listed after {timeout} s\n{self.logs()}")
            time.sleep(0.1)


@contextlib.contextmanager
def _running_stack(tmp_path_factory, label: str, *, populate: bool, workers: int = 2, threads: int = 4,
                   env: dict | None = None):
    """Start a stack; with `populate`, also add the registry and create the actors of SETUP_SCRIPT.
    Without it the database holds only the internal `portus` account, and the registry runs but is not
    added in Portus yet. `workers` × `threads` size gunicorn; `env` adds options (PORTUS_*)."""
    for binary in ("/usr/bin/docker-registry", "/usr/bin/skopeo", "/usr/bin/podman"):
        if not os.path.exists(binary):
            pytest.skip(f"{binary} is not installed (scripts/install-system-packages)")
    root = tmp_path_factory.mktemp(label)
    # A database name of its own per stack: two stacks may run at once in one session.
    database_url, drop_database = _e2e_database(root, "e2e" if label == "stack" else "e2e_" + re.sub(r"\W", "_", label))
    web_port, registry_port = services.free_port(), services.free_port()
    env = services.client_env({
        "DATABASE_URL": database_url,
        "PORTUS_SECRET_KEY_BASE": "e2e-secret-key-base-" + "x" * 40,
        "PORTUS_MACHINE_FQDN": "portus.e2e.test",
        "PORTUS_KEY_PATH": str(root / "portus.key"),
        "PORTUS_CERTIFICATE_PATH": str(root / "portus.crt"),
        "PORTUS_PASSWORD": "e2e-internal-password",
        "PORTUS_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PORTUS_DELETE_ENABLED": "true",
        "PORTUS_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PORTUS_PLAIN_STATIC": "1",
        "PORTUS_LOG_LEVEL": "INFO",
        "DJANGO_SETTINGS_MODULE": "portus.settings",
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    })
    web_args = [sys.executable, "-m", "gunicorn", "portus.wsgi:application", "-c", "portus/gunicorn.conf.py",
                "--bind", f"127.0.0.1:{web_port}", "--workers", str(workers), "--threads", str(threads)]
    stack = Stack(root=root, env=env, web_url=f"http://127.0.0.1:{web_port}", registry=None,  # type: ignore[arg-type]
                  admin_token="", web_args=web_args)
    try:
        stack.manage("migrate", "--noinput")
        stack.manage("generate_keys")
        stack.manage("create_api_account")
        registry_addr = f"127.0.0.1:{registry_port}"
        if populate:
            # Added before it runs, so that its configuration carries its own notification secret.
            stack.manage("create_registry", "--name", "e2e", "--hostname", registry_addr, "--no-ssl",
                         "--skip-check")
            which = ["--registry", "e2e"]
        else:
            which = ["--registry-addr", registry_addr]  # added later through the UI: the legacy shared secret
        stack.manage("registry_config", "--portus-url", stack.web_url, *which, "--listen", registry_addr,
                     "--storage", str(root / "storage"), "--timeout", "2s", "-o", str(root / "registry.yml"))
        stack.start_web()
        stack.registry = services.start_registry(root / "registry.yml", log_path=root / "registry.log")
        stack.processes.append(stack.registry)
        # Started once the registry answers, so that its first sync reads the registry rather than being
        # aborted by a refused connection (nothing waits for it to boot).
        background = services.Process("portus-background", [sys.executable, "manage.py", "portus_background"],
                                      log_path=root / "background.log", env=env, cwd=ROOT)
        stack.processes.append(background)
        if populate:
            out = stack.manage("shell", "-c", SETUP_SCRIPT.format(password=PASSWORD)).stdout
            stack.admin_token = json.loads(out.split("SETUP", 1)[1])["admin_token"]
        yield stack
    finally:
        for process in reversed(stack.processes):
            process.stop()
        drop_database()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The registry added as `e2e` and the actors: admin; team qa owned by olivia with carl (contributor) and
    vera (viewer); oscar outside it; namespace qa of team qa."""
    with _running_stack(tmp_path_factory, "stack", populate=True) as running:
        yield running


@pytest.fixture(scope="session")
def empty_stack(tmp_path_factory):
    """A second, independent stack on an empty database: no user but the internal `portus` account, no
    registry added (its registry process runs; add it through the UI). `admin_token` is empty."""
    with _running_stack(tmp_path_factory, "empty-stack", populate=False) as running:
        yield running


@pytest.fixture(scope="session")
def tls_stack(tmp_path_factory):
    """TLS everywhere, with two registries behind one Portus: see tests/e2e/tls_stack.py."""
    for binary in ("/usr/sbin/nginx", "/usr/bin/buildah", "/usr/bin/docker-registry"):
        if not os.path.exists(binary):
            pytest.skip(f"{binary} is not installed (scripts/install-system-packages)")
    from tests.e2e.tls_stack import running_tls_stack

    with running_tls_stack(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="session")
def oidc_stack(tmp_path_factory):
    """A stack signed into by a real OpenID provider, with a robot trusting its CI tokens: tests/e2e/oidc_stack.py."""
    if not os.path.exists("/usr/bin/node"):
        pytest.skip("/usr/bin/node is not installed (scripts/install-system-packages)")
    from tests.e2e.oidc_stack import running_oidc_stack
    from tests.e2e.support.oidc_provider import node_major

    if node_major() < 20:
        pytest.skip("oidc-provider needs Node.js 20 or later (scripts/install-system-packages)")

    with running_oidc_stack(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="session")
def images(tmp_path_factory):
    """Image builders writing into a folder of the session."""
    from tests.e2e.support import images as builders

    folder = tmp_path_factory.mktemp("images")

    class Images:
        counter = 0

        def single(self, tag: str = "latest", **files):
            Images.counter += 1
            content = files or {"etc/e2e-release": f"image {Images.counter}\n"}
            return builders.write_oci_layout(folder / f"img{Images.counter}", files=content, tag=tag)

        def multi(self, tag: str = "latest"):
            Images.counter += 1
            return builders.write_oci_index_layout(folder / f"idx{Images.counter}", tag=tag,
                                                   files={"etc/e2e-release": f"index {Images.counter}\n"})

        def rootfs(self, name: str):
            Images.counter += 1
            return builders.write_rootfs_tarball(folder / f"{name}.tar",
                                                 {"etc/e2e-release": f"rootfs {Images.counter}\n"})

    return Images()


@pytest.fixture
def podman():
    """Rootful podman with storage of its own (podman wants a runroot path under 50 characters)."""
    import shutil
    import tempfile

    from tests.e2e.support.containers import Podman

    root = tempfile.mkdtemp(prefix="e2e-pm-")
    client = Podman(root)
    yield client
    client("system", "reset", "--force", check=False, tls_verify=None)
    shutil.rmtree(root, ignore_errors=True)


# The real OpenLDAP server of the LDAP tests (tests/e2e/test_ldap_*.py).
from tests.e2e.ldap_fixtures import directory, slapd  # noqa: E402,F401
