"""config/config.yml, config-local.yml and PORTUS_* variables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from portus import config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture
def folder(tmp_path):
    shutil.copy(CONFIG_DIR / "config.yml", tmp_path / "config.yml")
    return tmp_path


def test_defaults_are_portus_defaults(folder):
    tree = config.load(folder, environ={})
    assert tree["machine_fqdn"]["value"] == "portus.test.lan"
    assert tree["registry"]["jwt_expiration_time"]["value"] == 5
    assert tree["delete"]["enabled"] is False
    assert tree["user_permission"]["push_images"]["policy"] == "allow-teams"
    assert tree["lockout"]["max_attempts"] == 10
    assert tree["first_user_admin"]["enabled"] is True


def test_local_file_overrides_and_environment_overrides_both(folder):
    (folder / "config-local.yml").write_text("delete:\n  enabled: true\nmachine_fqdn:\n  value: local.lan\n")
    tree = config.load(folder, environ={"PORTUS_MACHINE_FQDN": "env.lan"})
    assert tree["delete"]["enabled"] is True
    assert tree["machine_fqdn"]["value"] == "env.lan"


@pytest.mark.parametrize(
    ("name", "raw", "path", "expected"),
    [
        ("PORTUS_DELETE_ENABLED", "true", ("delete", "enabled"), True),
        ("PORTUS_DELETE_ENABLED", "0", ("delete", "enabled"), False),
        ("PORTUS_REGISTRY_JWT_EXPIRATION_TIME", "15", ("registry", "jwt_expiration_time", "value"), 15),
        ("PORTUS_REGISTRY_JWT_EXPIRATION_TIME_VALUE", "20", ("registry", "jwt_expiration_time", "value"), 20),
        ("PORTUS_JWT_EXPIRATION_TIME", "25", ("registry", "jwt_expiration_time", "value"), 25),
        ("PORTUS_REGISTRY_JWT_EXPIRATION_TIME_PUSH", "60", ("registry", "jwt_expiration_time_push", "value"), 60),
        ("PORTUS_KEY_PATH", "/k.pem", ("secrets", "key_path"), "/k.pem"),
        ("PORTUS_CERTIFICATE_PATH", "/c.pem", ("secrets", "certificate_path"), "/c.pem"),
        ("PORTUS_PASSWORD", "pw", ("secrets", "portus_password"), "pw"),
        ("PORTUS_SECRET_KEY_BASE", "sk", ("secrets", "secret_key_base"), "sk"),
        ("PORTUS_USER_PERMISSION_PUSH_IMAGES_POLICY", "admin-only", ("user_permission", "push_images", "policy"),
         "admin-only"),
        ("PORTUS_DELETE_GARBAGE_COLLECTOR_KEEP_LATEST", "3", ("delete", "garbage_collector", "keep_latest"), 3),
    ],
)
def test_environment_names(folder, name, raw, path, expected):
    tree = config.load(folder, environ={name: raw})
    node = tree
    for key in path:
        node = node[key]
    assert node == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORTUS_DELETE_ENABLED": "maybe"}, "delete.enabled"),
        ({"PORTUS_REGISTRY_JWT_EXPIRATION_TIME": "soon"}, "registry.jwt_expiration_time.value"),
        ({"PORTUS_REGISTRY_JWT_EXPIRATION_TIME": "0"}, "registry.jwt_expiration_time.value"),
        ({"PORTUS_REGISTRY_JWT_EXPIRATION_TIME": "10", "PORTUS_REGISTRY_JWT_EXPIRATION_TIME_PUSH": "5"},
         "registry.jwt_expiration_time_push.value"),
        ({"PORTUS_REGISTRY_JWT_EXPIRATION_TIME_PUSH": "1441"}, "registry.jwt_expiration_time_push.value"),
        ({"PORTUS_USER_PERMISSION_PUSH_IMAGES_POLICY": "everyone"}, "push_images.policy"),
        ({"PORTUS_BACKGROUND_SYNC_STRATEGY": "sometimes"}, "background.sync.strategy"),
        ({"PORTUS_MACHINE_FQDN": " "}, "machine_fqdn"),
    ],
)
def test_bad_values_name_the_option(folder, env, message):
    with pytest.raises(config.ConfigError, match=message.replace(".", r"\.")):
        config.load(folder, environ=env)


def test_unknown_option_in_local_file_is_refused(folder):
    (folder / "config-local.yml").write_text("delete:\n  enabbled: true\n")
    with pytest.raises(config.ConfigError, match="delete.enabbled: unknown option"):
        config.load(folder, environ={})


def test_section_given_a_scalar_is_refused(folder):
    (folder / "config-local.yml").write_text("delete: yes\n")
    with pytest.raises(config.ConfigError, match="delete: expected a section"):
        config.load(folder, environ={})


def test_unrelated_portus_variables_are_ignored_with_a_note(folder, capsys):
    tree = config.load(folder, environ={"PORTUS_DB_HOST": "db"})
    assert "PORTUS_DB_HOST" in capsys.readouterr().err
    assert tree["delete"]["enabled"] is False


def test_broken_yaml_is_reported(folder):
    (folder / "config-local.yml").write_text("delete: [\n")
    with pytest.raises(config.ConfigError, match="not valid YAML"):
        config.load(folder, environ={})


def test_a_local_runs_var_files_are_defaults_every_command_shares(folder, tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    (var / "secret_key_base").write_text("from-var-" + "x" * 40 + "\n")
    (var / "portus_password").write_text("internal\n")
    (var / "machine_fqdn").write_text("portus.local.lan\n")
    (var / "webhook_secret").write_text("")  # empty: not set
    tree = config.load(folder, environ={"PORTUS_VAR_DIR": str(var)})
    assert tree["secrets"]["secret_key_base"] == "from-var-" + "x" * 40
    assert tree["secrets"]["portus_password"] == "internal"
    assert tree["machine_fqdn"]["value"] == "portus.local.lan"
    assert tree["secrets"]["webhook_secret"] == ""
    (folder / "config-local.yml").write_text("machine_fqdn:\n  value: local-file.lan\n")
    assert config.load(folder, environ={"PORTUS_VAR_DIR": str(var)})["machine_fqdn"]["value"] == "local-file.lan"
    overridden = config.load(folder, environ={"PORTUS_VAR_DIR": str(var), "PORTUS_MACHINE_FQDN": "env.lan"})
    assert overridden["machine_fqdn"]["value"] == "env.lan"
    assert config.load(folder, environ={})["secrets"]["portus_password"] == ""  # no var/ unless named


def test_a_var_file_that_is_not_a_secret_is_refused(folder, tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    (var / "secret_key_base").write_bytes(b"x" * 5000)
    with pytest.raises(config.ConfigError, match="secrets.secret_key_base"):
        config.load(folder, environ={"PORTUS_VAR_DIR": str(var)})


def test_the_process_reads_var_by_default(folder, tmp_path_factory, monkeypatch):
    project = tmp_path_factory.mktemp("project")
    (project / "var").mkdir()
    (project / "var" / "machine_fqdn").write_text("from-default-var.lan")
    monkeypatch.setattr(config, "BASE_DIR", project)
    monkeypatch.delenv("PORTUS_MACHINE_FQDN", raising=False)
    monkeypatch.delenv("PORTUS_VAR_DIR", raising=False)
    assert config.default_var_dir() == project / "var"
    assert config.load(folder)["machine_fqdn"]["value"] == "from-default-var.lan"
