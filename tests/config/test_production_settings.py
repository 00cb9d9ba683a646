"""The production settings (portus.settings, not the test suite's): `check --deploy`, TLS, the secret key."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a production process: no test switches, a real secret, TLS on, DEBUG off."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PORTUS_", "DJANGO_", "GUNICORN_")) and k not in {"DATABASE_URL", "PYTHONPATH"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "portus.settings",
        "PYTHONPATH": str(ROOT),
        "PORTUS_CONFIG_DIR": str(ROOT / "config"),
        "PORTUS_SECRET_KEY_BASE": secrets.token_urlsafe(50),
        "PORTUS_MACHINE_FQDN": "portus.example.org",
        "PORTUS_ALLOWED_HOSTS": "portus.example.org",
        "PORTUS_TLS_ENABLED": "true",
        "PORTUS_CSRF_TRUSTED_ORIGINS": "https://portus.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portus.sqlite3'}",
    })
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def _python(env: dict[str, str], *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


# --- manage.py check --deploy ---------------------------------------------------------------------


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    result = _python(production_env(tmp_path), "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_flags_a_deployment_without_tls(tmp_path):
    """The check above can fail: without TLS, the cookies, HSTS and the redirect are reported."""
    env = production_env(tmp_path)
    del env["PORTUS_TLS_ENABLED"]
    result = _python(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr, check


def test_hsts_preload_is_not_consented_to_by_default(tmp_path):
    env = production_env(tmp_path, PORTUS_TLS_HSTS_PRELOAD="true")
    result = _python(env, "-c", "import django; django.setup(); from django.conf import settings as s; "
                                "print(s.SECURE_HSTS_PRELOAD, s.SILENCED_SYSTEM_CHECKS)")
    assert result.stdout.split() == ["True", "[]"], result.stderr
    result = _python(production_env(tmp_path), "-c", "import django; django.setup(); "
                     "from django.conf import settings as s; print(s.SECURE_HSTS_PRELOAD)")
    assert result.stdout.strip() == "False", result.stderr


def test_a_nonsense_tls_proxy_switch_stops_start_up(tmp_path):
    result = _python(production_env(tmp_path, PORTUS_BEHIND_TLS_PROXY="maybe"), "manage.py", "check")
    assert result.returncode != 0
    assert "PORTUS_BEHIND_TLS_PROXY" in result.stderr


# --- the ephemeral secret key ---------------------------------------------------------------------

PRINT_KEY = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"


def _ephemeral_env(tmp_path: Path) -> dict[str, str]:
    env = production_env(tmp_path, PORTUS_ALLOW_EPHEMERAL_SECRET="1")
    del env["PORTUS_SECRET_KEY_BASE"]
    return env


def test_without_a_secret_key_production_refuses_to_start(tmp_path):
    env = production_env(tmp_path)
    del env["PORTUS_SECRET_KEY_BASE"]
    result = _python(env, "-c", PRINT_KEY)
    assert result.returncode != 0 and "secrets.secret_key_base: required" in result.stderr


def test_the_ephemeral_secret_key_is_random_for_each_process_start(tmp_path):
    env = _ephemeral_env(tmp_path)
    keys = [_python(env, "-c", PRINT_KEY).stdout.strip() for _ in range(2)]
    assert all(len(key) >= 50 for key in keys), keys
    assert keys[0] != keys[1]
    assert not any("development-only" in key for key in keys)


GUNICORN_CONF = """
import os, runpy
runpy.run_path("portus/gunicorn.conf.py")
print(os.environ.get("PORTUS_SECRET_KEY_BASE", "-"))
"""


def test_the_gunicorn_master_makes_the_key_its_workers_inherit(tmp_path):
    env = _ephemeral_env(tmp_path)
    first, second = (_python(env, "-c", GUNICORN_CONF).stdout.split()[-1] for _ in range(2))
    assert len(first) >= 50 and first != second
    # A configured key is left alone, and so is a production start without the switch.
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yml").write_text((ROOT / "config" / "config.yml").read_text())
    (tmp_path / "conf" / "config-local.yml").write_text("secrets:\n  secret_key_base: from-the-local-file\n")
    assert _python({**env, "PORTUS_CONFIG_DIR": str(tmp_path / "conf")}, "-c", GUNICORN_CONF).stdout.split()[-1] == "-"
    env.pop("PORTUS_ALLOW_EPHEMERAL_SECRET")
    assert _python(env, "-c", GUNICORN_CONF).stdout.split()[-1] == "-"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_session_signed_by_one_gunicorn_worker_holds_on_the_others(tmp_path):
    """Several workers, no configured key: every worker accepts the session (one key, from the master)."""
    import requests

    env = _ephemeral_env(tmp_path)
    env.update(PORTUS_TLS_ENABLED="false", PORTUS_PLAIN_STATIC="1", PORTUS_FAST_PASSWORD_HASHER="1",
               GUNICORN_WORKERS="3", GUNICORN_THREADS="1", PORTUS_ALLOWED_HOSTS="127.0.0.1")
    assert _python(env, "manage.py", "migrate", "-v0").returncode == 0
    seed = ("import django; django.setup(); from accounts.services import user_create; "
            "user_create(username='tester', email=None, password='correct-horse-battery', check_password=False)")
    assert _python(env, "-c", seed).returncode == 0
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "portus.wsgi:application", "-c",
                               "portus/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        session = requests.Session()
        session.headers["Connection"] = "close"  # a new connection, so any worker, for every request
        # Generous bounds: three workers importing Django on a loaded machine take their time. They are
        # limits on waiting, not assertions on speed.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                page = session.get(f"{base}/users/sign_in", timeout=60)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            server.terminate()
            pytest.fail("gunicorn did not start: " + server.communicate(timeout=30)[1][-3000:])
        token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        signed_in = session.post(f"{base}/users/sign_in", allow_redirects=False, timeout=60,
                                 headers={"Referer": f"{base}/users/sign_in"},
                                 data={"csrfmiddlewaretoken": token, "username": "tester",
                                       "password": "correct-horse-battery"})
        assert signed_in.status_code == 302
        statuses = {session.get(f"{base}/users/edit", allow_redirects=False, timeout=60).status_code
                    for _ in range(24)}
        assert statuses == {200}
    finally:
        server.terminate()
        server.communicate(timeout=30)
