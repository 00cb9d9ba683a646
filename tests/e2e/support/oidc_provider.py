"""A real OpenID provider for the end-to-end tests: the OpenID-certified `oidc-provider` from npm, run
with the machine's Node.js (tests/e2e/oidc/provider.mjs). Installed with `npm ci` from the committed
lock file into .cache/oidc-provider/<digest of the lock file>/ (outside git), once per version."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.e2e.support import services

ROOT = Path(__file__).resolve().parents[3]
SOURCE = ROOT / "tests" / "e2e" / "oidc"
CACHE = Path(os.environ.get("PORTUS_TEST_CACHE", ROOT / ".cache")) / "oidc-provider"
NODE = shutil.which("node") or "/usr/bin/node"
NPM = shutil.which("npm") or "/usr/bin/npm"


def node_major() -> int:
    out = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.strip().lstrip("v").split(".")[0])


def install() -> Path:
    """The folder holding node_modules/oidc-provider for the committed package-lock.json."""
    lock = (SOURCE / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock + (SOURCE / "package.json").read_bytes()).hexdigest()[:16]
    target = CACHE / digest
    if (target / "node_modules" / "oidc-provider" / "package.json").exists():
        return target
    staging = CACHE / f"{digest}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(SOURCE / name, staging / name)
    services.run([NPM, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=staging, timeout=600,
                 env=services.client_env({"npm_config_cache": str(CACHE / "npm-cache")}))
    with contextlib.suppress(OSError):  # another process may have finished first: keep theirs
        staging.rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


@dataclass
class Provider:
    issuer: str
    process: services.Process
    folder: Path
    config: dict

    def ci_token(self, client_id: str, audience: str) -> str:
        """A CI job's token: a JWT signed by the running provider, for `audience`, with the job's claims."""
        session = requests.Session()
        session.trust_env = False
        client = next(c for c in self.config["clients"] if c["client_id"] == client_id)
        response = session.post(f"{self.issuer}/token", timeout=10, auth=(client_id, client["client_secret"]),
                                data={"grant_type": "client_credentials", "resource": audience, "scope": "registry"})
        response.raise_for_status()
        return response.json()["access_token"]

    def jwks(self) -> dict:
        return requests.get(f"{self.issuer}/jwks", timeout=10).json()

    def stop(self) -> None:
        self.process.stop()


def start(root: Path, *, port: int, clients: list[dict], accounts: dict, ci_claims: dict,
          ttl: dict | None = None) -> Provider:
    issuer = f"http://127.0.0.1:{port}"
    folder = install()
    script = folder / "provider.mjs"
    shutil.copy(SOURCE / "provider.mjs", script)  # next to its node_modules, where `import` finds them
    config = {"port": port, "issuer": issuer, "clients": clients, "accounts": accounts, "ci_claims": ci_claims,
              "ttl": ttl or {}}
    config_path = root / "oidc-provider.json"
    config_path.write_text(json.dumps(config))
    process = services.Process("oidc-provider", [NODE, str(script), str(config_path)],
                               log_path=root / "oidc-provider.log", env=services.client_env(), cwd=folder)
    services.wait_for(
        lambda: requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).json()["issuer"] == issuer,
        timeout=60, what="oidc-provider", alive=process.alive, logs=process.log_tail)
    return Provider(issuer=issuer, process=process, folder=folder, config=config)
