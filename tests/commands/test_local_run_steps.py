"""The next steps scripts/run prints: advice that fits the instance, and commands that work as printed."""

from __future__ import annotations

import io
import shlex

import yaml
from django.core.management import call_command

from registries.models import Registry
from web.forms_admin import RegistryForm


def steps(*args: str) -> str:
    out = io.StringIO()
    call_command("local_run_steps", "--port", "8123", "--registry-port", "5123", *args, stdout=out)
    return out.getvalue()


def printed_manage_commands(text: str) -> list[list[str]]:
    prefix = ".venv/bin/python manage.py"
    return [shlex.split(line)[2:] for line in text.splitlines() if line.strip().startswith(prefix)]


def test_an_empty_instance_is_told_to_sign_up_first(db, internal_account):
    text = steps("--pid", "4242")
    assert "http://127.0.0.1:8123/users/sign_up : the first account becomes the administrator" in text
    assert "http://127.0.0.1:8123/api/docs" in text
    assert "podman login --tls-verify=false 127.0.0.1:5123" in text
    assert "`kill 4242`" in text


def test_a_restart_with_accounts_does_not_repeat_the_first_admin_advice(db, internal_account, owner):
    text = steps()
    assert "sign_up" not in text and "administrator" not in text
    assert "Sign in at http://127.0.0.1:8123/users/sign_in" in text


def test_without_a_registry_the_steps_add_one_and_quote_the_forms_tls_box(db, internal_account):
    text = steps("--registry", "missing")
    assert "apt-get install docker-registry" in text
    assert f'"{RegistryForm.base_fields["use_ssl"].label}" unticked' in text
    assert "create_registry --name local --hostname 127.0.0.1:5123 --no-ssl" in text
    Registry.objects.create(name="local", hostname="127.0.0.1:5123", use_ssl=False)
    assert "create_registry" not in steps("--registry", "off")


def test_the_printed_commands_run_as_printed(db, internal_account, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    commands = printed_manage_commands(steps("--registry", "off"))
    assert [c[0] for c in commands] == ["create_registry", "registry_config"]
    for command in commands:
        call_command(*command, stdout=io.StringIO(), stderr=io.StringIO())
    config = yaml.safe_load((tmp_path / "var" / "registry.yml").read_text())
    assert config["auth"]["token"]["service"] == "127.0.0.1:5123"
    assert config["auth"]["token"]["realm"] == "http://127.0.0.1:8123/v2/token"
    assert config["http"]["addr"] == "127.0.0.1:5123"
    secret = config["notifications"]["endpoints"][0]["headers"]["Authorization"][0].removeprefix("Bearer ")
    assert Registry.for_notification_secret(secret) == Registry.objects.get(name="local")
