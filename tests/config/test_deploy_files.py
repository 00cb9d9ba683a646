"""The deployment files: what the image leaves out, and whom the compose example trusts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _pattern(line: str) -> re.Pattern:
    """A .dockerignore line as a regular expression over paths relative to the build context."""
    out = ""
    i = 0
    while i < len(line):
        if line.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif line.startswith("**", i):
            out, i = out + ".*", i + 2
        elif line[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif line[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(line[i]), i + 1
    return re.compile(out)


def _ignored(path: str, patterns: list[re.Pattern]) -> bool:
    """Docker leaves out a path when a pattern matches it or one of the folders it is in."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    return any(p.fullmatch(prefix) for p in patterns for prefix in prefixes)


@pytest.fixture(scope="module")
def dockerignore() -> list[re.Pattern]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert not any(line.startswith("!") for line in lines), "exceptions would need a real matcher"
    return [_pattern(line.strip().rstrip("/")) for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("path", [
    "config/config-local.yml", "var/portus.sqlite3", "var/portus.key", "var/secret_key_base", ".venv/bin/python",
    ".env", "deploy/.env", "deploy/secrets/portus.key", "deploy/tls/portus.key", "deploy/registry.yml",
    "registry.yml", "some/where/private.key", "some/where/cert.pem", "test-artifacts/report.xml",
    ".pytest_cache/v/cache", ".hypothesis/examples/x", "portus/__pycache__/settings.cpython-311.pyc", ".git/config",
])
def test_the_image_leaves_out_local_configuration_secrets_and_artefacts(dockerignore, path):
    assert _ignored(path, dockerignore), path


@pytest.mark.parametrize("path", [
    "manage.py", "pyproject.toml", "README.md", "config/config.yml", "portus/settings.py", "portus/gunicorn.conf.py",
    "templates/base.html", "portus/static/portus/portus.js", "accounts/services.py", "realm/keys.py",
])
def test_the_image_keeps_the_code(dockerignore, path):
    assert not _ignored(path, dockerignore), path


def test_every_file_the_image_needs_is_kept(dockerignore):
    """No tracked source file is left out by accident (a pattern too broad)."""
    kept_dirs = ("portus", "accounts", "teams", "namespaces", "registries", "realm", "mirror", "activities", "api",
                 "web", "templates", "config")
    for folder in kept_dirs:
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT).as_posix()
            if path.is_file() and "__pycache__" not in relative and relative != "config/config-local.yml":
                assert not _ignored(relative, dockerignore), relative


def test_the_compose_example_trusts_only_the_proxy_about_https():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yml").read_text())
    env = compose["services"]["portus"]["environment"]
    trusted = str(env["FORWARDED_ALLOW_IPS"])
    assert "*" not in trusted
    proxy_address = compose["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    assert trusted.split(",") == [proxy_address]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert proxy_address.startswith(subnet.rsplit(".", 1)[0] + ".")
    # HTTPS is known from gunicorn (which believes the proxy only), not from a header anyone may send.
    assert env["PORTUS_TLS_ENABLED"] == "true" and "PORTUS_BEHIND_TLS_PROXY" not in env


def test_the_compose_example_names_clients_by_the_proxy_only_and_shares_no_notification_secret():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yml").read_text())
    env = compose["services"]["portus"]["environment"]
    proxy_address = compose["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    assert str(env["PORTUS_RATE_LIMIT_TRUSTED_PROXIES"]).split(",") == [proxy_address]
    # Each registry has its own notification secret; the shared legacy one would speak for all of them.
    assert "PORTUS_WEBHOOK_SECRET" not in env
