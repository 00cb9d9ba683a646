"""The secure stack of Portus's guide: a CA of the tests, Portus behind nginx and served by gunicorn with a
certificate, and two registries over TLS (alpha and beta) behind this one Portus.

Who talks to whom, all verifying certificates against the test CA only:
- alpha at ``localhost:PA`` (certificate for the name ``localhost``): token realm through nginx,
  notifications straight to gunicorn's own TLS port. dockerd reaches it on ::1 (see relay.py).
- beta at ``127.0.0.1:PB`` (certificate for the address): token realm on gunicorn's TLS port,
  notifications through nginx.
- the background process reads both over HTTPS with ``PORTUS_REGISTRY_CA_FILE`` = the CA; the registries
  trust the CA for their notifications through ``SSL_CERT_FILE`` (Go's trust store), and nothing else.
Each registry has its own service name, notification secret (`registry_config --registry NAME`) and global
namespace. Namespace ``qa`` exists in both: in alpha it is team qa's (olivia owner, carl contributor,
vera viewer), in beta team qa-beta's (oscar owner, vera contributor).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.e2e.conftest import ACTORS_SCRIPT, ADMIN_TOKEN_SCRIPT, PASSWORD, ROOT, Stack, _e2e_database
from tests.e2e.support import services
from tests.e2e.support.tls import TestCA, start_nginx, start_relay

SETUP_SCRIPT = ACTORS_SCRIPT + """
alpha, beta = Registry.objects.get(name="alpha"), Registry.objects.get(name="beta")
qa = team_create(name="qa", owner=made["olivia"])
team_member_add(team=qa, user=made["carl"], role=Role.CONTRIBUTOR, by=made["olivia"])
team_member_add(team=qa, user=made["vera"], role=Role.VIEWER, by=made["olivia"])
namespace_create(name="qa", team=qa, by=made["olivia"], registry=alpha)
qb = team_create(name="qa-beta", owner=made["oscar"])
team_member_add(team=qb, user=made["vera"], role=Role.CONTRIBUTOR, by=made["oscar"])
namespace_create(name="qa", team=qb, by=made["oscar"], registry=beta)
""" + ADMIN_TOKEN_SCRIPT


@dataclass
class TLSStack(Stack):
    """``web_url`` is nginx (https), ``direct_url`` gunicorn's own TLS port; ``registries`` by name."""

    ca: TestCA | None = None
    cert_dir: Path | None = None  # holds ca.crt alone: the --cert-dir of podman, skopeo and buildah
    direct_url: str = ""
    backend_url: str = ""  # the plain-HTTP gunicorn behind nginx
    registries: dict[str, services.Registry] = field(default_factory=dict)
    registry_configs: dict[str, Path] = field(default_factory=dict)

    def session(self) -> requests.Session:
        """A client that trusts the test CA and nothing else."""
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.ca.cert)
        return session

    def api(self, path: str, method: str = "GET", **kwargs) -> requests.Response:
        return self.session().request(method, f"{self.web_url}/api/v1{path}", timeout=30,
                                      headers={"Portus-Auth": f"admin:{self.admin_token}"}, **kwargs)

    def repository(self, full_name: str, registry: str = "alpha") -> dict | None:
        response = self.api("/repositories", params={"all": "true"})
        response.raise_for_status()
        host = self.registries[registry].address
        return next((r for r in response.json() if r["full_name"] == full_name and r["registry_hostname"] == host),
                    None)

    def tags(self, full_name: str, registry: str = "alpha") -> dict[str, dict]:
        repo = self.repository(full_name, registry)
        if repo is None:
            return {}
        response = self.api(f"/repositories/{repo['id']}/tags")
        response.raise_for_status()
        return {t["name"]: t for t in response.json()}

    def wait_for_tag(self, full_name: str, tag: str, digest: str, timeout: float = 20.0,
                     registry: str = "alpha") -> tuple[dict, float]:
        started = time.monotonic()
        while True:
            found = self.tags(full_name, registry).get(tag)
            if found is not None and found["digest"] == digest:
                return found, time.monotonic() - started
            if time.monotonic() > started + timeout:
                raise AssertionError(f"{registry}: {full_name}:{tag}@{digest} did not show up within {timeout} s "
                                     f"(API has {found})\n{self.logs()}")
            time.sleep(0.1)

    def sign_in(self, username: str, base: str = "") -> requests.Session:
        """A browser-like session signed in through the web form (``base``: nginx by default)."""
        base = base or self.web_url
        browser = self.session()
        browser.get(f"{base}/users/sign_in", timeout=30).raise_for_status()
        response = browser.post(f"{base}/users/sign_in", allow_redirects=False, timeout=30,
                                headers={"Origin": base, "Referer": f"{base}/users/sign_in"},
                                data={"username": username, "password": PASSWORD,
                                      "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
        assert response.status_code == 302, response.text[:500]
        return browser

    def namespaces(self) -> list[dict]:
        response = self.api("/namespaces", params={"all": "true"})
        response.raise_for_status()
        return response.json()


def _gunicorn(port: int, *, workers: int, threads: int, tls=None) -> list[str]:
    args = [sys.executable, "-m", "gunicorn", "portus.wsgi:application", "-c", "portus/gunicorn.conf.py",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads)]
    if tls is not None:
        args += ["--certfile", str(tls.cert), "--keyfile", str(tls.key)]
    return args


@contextlib.contextmanager
def running_tls_stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("tls-stack")
    database_url, drop_database = _e2e_database(root, "e2e_tls")
    ca = TestCA(root / "ca")
    (root / "client-certs").mkdir()
    shutil.copy(ca.cert, root / "client-certs" / "ca.crt")
    trust_only_ca = root / "ca-dir"  # an empty SSL_CERT_DIR: Go then trusts SSL_CERT_FILE alone
    trust_only_ca.mkdir()
    certs = {"alpha": ca.issue("alpha", dns=("localhost",)), "beta": ca.issue("beta", ips=("127.0.0.1",)),
             "portus": ca.issue("portus", dns=("localhost",), ips=("127.0.0.1",)),
             "proxy": ca.issue("proxy", dns=("localhost",), ips=("127.0.0.1",))}
    web_port, direct_port, proxy_port = services.free_port(), services.free_port(), services.free_port()
    ports = {"alpha": services.free_port(), "beta": services.free_port()}
    hosts = {"alpha": f"localhost:{ports['alpha']}", "beta": f"127.0.0.1:{ports['beta']}"}
    proxy_url, direct_url = f"https://127.0.0.1:{proxy_port}", f"https://127.0.0.1:{direct_port}"
    env = services.client_env({
        "DATABASE_URL": database_url,
        "PORTUS_SECRET_KEY_BASE": "e2e-secret-key-base-" + "t" * 40,
        "PORTUS_MACHINE_FQDN": "portus.e2e.test",
        "PORTUS_KEY_PATH": str(root / "portus.key"),
        "PORTUS_CERTIFICATE_PATH": str(root / "portus.crt"),
        "PORTUS_PASSWORD": "e2e-internal-password",
        "PORTUS_DELETE_ENABLED": "true",
        "PORTUS_REGISTRY_CA_FILE": str(ca.cert),
        "PORTUS_TLS_ENABLED": "true",  # nginx on 127.0.0.1, which gunicorn's FORWARDED_ALLOW_IPS trusts
        "PORTUS_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PORTUS_PLAIN_STATIC": "1",
        "PORTUS_LOG_LEVEL": "INFO",
        "DJANGO_SETTINGS_MODULE": "portus.settings",
        "PYTHONPATH": str(ROOT),
    })
    stack = TLSStack(root=root, env=env, web_url=proxy_url, registry=None,  # type: ignore[arg-type]
                     admin_token="", ca=ca, cert_dir=root / "client-certs", direct_url=direct_url,
                     backend_url=f"http://127.0.0.1:{web_port}")
    try:
        stack.manage("migrate", "--noinput")
        stack.manage("generate_keys")
        stack.manage("create_api_account")
        # Added before they run, so that each configuration carries the registry's own notification secret.
        for name in ("alpha", "beta"):
            stack.manage("create_registry", "--name", name, "--hostname", hosts[name], "--skip-check")
        doors = {"alpha": (direct_url, proxy_url), "beta": (proxy_url, direct_url)}  # (notifications, realm)
        for name, (notify, realm) in doors.items():
            stack.registry_configs[name] = root / f"{name}.yml"
            stack.manage("registry_config", "--registry", name, "--portus-url", notify,
                         "--realm-url", f"{realm}/v2/token", "--listen", f"127.0.0.1:{ports[name]}",
                         "--tls-certificate", str(certs[name].cert), "--tls-key", str(certs[name].key),
                         "--storage", str(root / f"{name}-storage"), "--timeout", "2s",
                         "-o", str(stack.registry_configs[name]))
        web = services.Process("portus-web", _gunicorn(web_port, workers=2, threads=4),
                               log_path=root / "web.log", env=env, cwd=ROOT)
        stack.processes.append(web)
        direct = services.Process("portus-web-tls", _gunicorn(direct_port, workers=1, threads=4,
                                                              tls=certs["portus"]),
                                  log_path=root / "web-tls.log", env=env, cwd=ROOT)
        stack.processes.append(direct)
        session = stack.session()
        for url, process in ((direct_url, direct), (f"http://127.0.0.1:{web_port}", web)):
            services.wait_for(lambda u=url: session.get(f"{u}/v2/token", timeout=2).status_code in (200, 401),
                              timeout=60, what=process.name, alive=process.alive, logs=process.log_tail)
        stack.processes.append(start_nginx(root / "nginx", port=proxy_port, upstream=f"http://127.0.0.1:{web_port}",
                                           tls=certs["proxy"], ca_file=ca.cert))
        registry_env = {"SSL_CERT_FILE": str(ca.cert), "SSL_CERT_DIR": str(trust_only_ca)}
        for name in ("alpha", "beta"):
            host = hosts[name].rsplit(":", 1)[0]
            registry = services.start_registry(stack.registry_configs[name], log_path=root / f"{name}.log",
                                               env=registry_env, ca_file=ca.cert, host=host)
            stack.registries[name] = registry
            stack.processes.append(registry)
        stack.registry = stack.registries["alpha"]
        stack.processes.append(start_relay("::1", ports["alpha"], "127.0.0.1", log_path=root / "relay.log"))
        # Started once the registries answer, so that its first sync reads them rather than being aborted.
        background = services.Process("portus-background", [sys.executable, "manage.py", "portus_background"],
                                      log_path=root / "background.log", env=env, cwd=ROOT)
        stack.processes.append(background)
        out = stack.manage("shell", "-c", SETUP_SCRIPT.format(password=PASSWORD)).stdout
        stack.admin_token = json.loads(out.split("SETUP", 1)[1])["admin_token"]
        yield stack
    finally:
        for process in reversed(stack.processes):
            process.stop()
        drop_database()


def secret_of(config: Path) -> str:
    """The notification secret a registry configuration carries."""
    found = re.search(r"Bearer (\S+)", config.read_text())
    assert found, f"no notification secret in {config}"
    return found.group(1).strip("'\"")
