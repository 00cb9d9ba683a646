"""The manage.py commands an operator uses to set Portus up."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from accounts.models import User
from realm.management.commands.registry_config import REGISTRY_GOMAXPROCS
from registries.models import Registry
from tests.e2e.support import services


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


def test_create_api_account_refuses_without_password(db, options):
    options.set("secrets.portus_password", "")
    with pytest.raises(CommandError, match="PORTUS_PASSWORD"):
        run("create_api_account")
    assert not User.objects.filter(username="portus").exists()


def test_create_api_account_creates_an_admin_bot_and_is_rerunnable(db, options):
    options.set("secrets.portus_password", "internal-secret")
    assert "Created" in run("create_api_account")
    assert "Updated" in run("create_api_account")
    user = User.objects.get(username="portus")
    assert user.admin and user.bot and user.check_password("internal-secret")


def test_create_user_and_make_admin(db, monkeypatch):
    monkeypatch.setenv("NEW_PW", "a-long-enough-password")
    run("create_user", "--username", "dora", "--email", "dora@example.org", "--password-env", "NEW_PW")
    assert not User.objects.get(username="dora").admin
    run("make_admin", "dora")
    assert User.objects.get(username="dora").admin
    with pytest.raises(CommandError, match="No user"):
        run("make_admin", "nobody")


def test_create_user_rejects_invalid_names(db, monkeypatch):
    monkeypatch.setenv("NEW_PW", "a-long-enough-password")
    with pytest.raises(CommandError):
        run("create_user", "--username", "Bad Name", "--password-env", "NEW_PW")


def test_create_registry_checks_reachability(db):
    with pytest.raises(CommandError, match="not reachable"):
        run("create_registry", "--name", "r", "--hostname", "127.0.0.1:9", "--no-ssl")
    run("create_registry", "--name", "r", "--hostname", "127.0.0.1:9", "--no-ssl", "--skip-check")
    assert Registry.objects.get(name="r").namespaces.filter(is_global=True).exists()


def test_generate_keys_refuses_to_overwrite(tmp_path, options):
    options.set("secrets.key_path", str(tmp_path / "k.pem"))
    options.set("secrets.certificate_path", str(tmp_path / "c.pem"))
    run("generate_keys")
    assert (tmp_path / "k.pem").stat().st_mode & 0o077 == 0
    with pytest.raises(CommandError, match="--force"):
        run("generate_keys")
    assert "Keeping" in run("generate_keys", "--if-missing")


def test_registry_config_is_complete(options, signing_files, tmp_path):
    options.set("secrets.webhook_secret", "hook-secret")
    text = run("registry_config", "--portus-url", "https://portus.example.org/", "--registry-addr",
               "registry.example.org:5000", "--storage", str(tmp_path))
    config = yaml.safe_load(text)
    token = config["auth"]["token"]
    assert token["realm"] == "https://portus.example.org/v2/token"
    assert token["service"] == "registry.example.org:5000"
    assert token["issuer"] == "portus.test.lan"
    bundle = signing_files[1].resolve().with_name("portus.bundle.crt")
    assert token["rootcertbundle"] == str(bundle)
    assert bundle.read_bytes().strip() == signing_files[1].read_bytes().strip()
    assert config["storage"]["delete"]["enabled"] is True
    assert config["http"]["addr"] == ":5000"
    pushes, pulls = config["notifications"]["endpoints"]
    for endpoint in (pushes, pulls):
        assert endpoint["url"] == "https://portus.example.org/v2/webhooks/events"
        assert endpoint["headers"]["Authorization"] == ["Bearer hook-secret"]
        assert endpoint["timeout"] and endpoint["threshold"] and endpoint["backoff"]
        assert endpoint["ignoredmediatypes"] == ["application/octet-stream"]  # blob events: nothing to keep
    # Pulls on an endpoint of their own: a pull storm never holds up a push's event.
    assert (pushes["name"], pushes["ignore"]) == ("portus", {"actions": ["pull"]})
    assert (pulls["name"], pulls["ignore"]) == ("portus-pulls", {"actions": ["push", "delete", "mount"]})
    assert "*id" not in text and "&id" not in text  # no YAML aliases
    assert "tls" not in config["http"]
    # The file cannot set the registry's GOMAXPROCS, so its header tells the operator to.
    assert f"# Start the registry with GOMAXPROCS={REGISTRY_GOMAXPROCS} in its environment" in text


def test_every_registry_portus_starts_runs_with_the_gomaxprocs_it_recommends():
    """scripts/run, the compose example and the tests' (and the bench's) registry: one number, the one the
    configuration's header gives."""
    root = Path(__file__).resolve().parents[2]
    assert services.REGISTRY_GOMAXPROCS == REGISTRY_GOMAXPROCS > 2
    run_script = (root / "scripts" / "run").read_text()
    assert re.findall(r"GOMAXPROCS=(\d+) docker-registry serve", run_script) == [str(REGISTRY_GOMAXPROCS)]
    compose = yaml.safe_load((root / "deploy" / "compose.yml").read_text())
    assert compose["services"]["registry"]["environment"]["GOMAXPROCS"] == str(REGISTRY_GOMAXPROCS)


def test_registry_config_with_tls(options, signing_files, tmp_path):
    options.set("secrets.webhook_secret", "hook-secret")
    text = run("registry_config", "--portus-url", "https://p", "--registry-addr", "r:5000", "--storage",
               str(tmp_path), "--tls-certificate", "/etc/r.crt", "--tls-key", "/etc/r.key")
    assert yaml.safe_load(text)["http"]["tls"] == {"certificate": "/etc/r.crt", "key": "/etc/r.key"}


def test_registry_config_needs_the_webhook_secret(options, signing_files, tmp_path):
    options.set("secrets.webhook_secret", "")
    with pytest.raises(CommandError, match="PORTUS_WEBHOOK_SECRET"):
        run("registry_config", "--portus-url", "https://p", "--registry-addr", "r:5000", "--storage", "/x")


def _notification_secret(config: dict) -> str:
    header = config["notifications"]["endpoints"][0]["headers"]["Authorization"]
    assert len(header) == 1 and header[0].startswith("Bearer ")
    return header[0].removeprefix("Bearer ")


def test_registry_config_for_a_registry_carries_its_own_new_secret(registry, options, signing_files, tmp_path):
    options.set("secrets.webhook_secret", "")
    err = io.StringIO()
    out = io.StringIO()
    call_command("registry_config", "--registry", "main", "--portus-url", "https://portus.example.org",
                 "--storage", str(tmp_path), stdout=out, stderr=err)
    config = yaml.safe_load(out.getvalue())
    assert config["auth"]["token"]["service"] == registry.hostname
    assert config["http"]["addr"] == ":5000"
    secret = _notification_secret(config)
    assert secret.startswith("pns_") and len(secret) > 40
    assert Registry.for_notification_secret(secret) == registry
    stored = Registry.objects.get(pk=registry.pk)
    assert secret not in str(Registry.objects.filter(pk=registry.pk).values().get())  # only its hash is kept
    assert stored.notification_secret_prefix in err.getvalue() and secret not in err.getvalue()


def test_registry_config_again_rotates_and_keeps_the_previous_secret_for_a_while(registry, options,
                                                                                signing_files, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    args = ("registry_config", "--registry", "main", "--portus-url", "https://p", "--storage", str(tmp_path))
    first = _notification_secret(yaml.safe_load(run(*args)))
    second = _notification_secret(yaml.safe_load(run(*args)))
    assert first != second
    assert Registry.for_notification_secret(second) == registry
    assert Registry.for_notification_secret(first) == registry  # the registry is not restarted yet
    assert Registry.for_notification_secret(first, now=timezone.now() + timedelta(hours=25)) is None
    third = _notification_secret(yaml.safe_load(run(*args, "--revoke-previous")))
    assert Registry.for_notification_secret(second) is None and Registry.for_notification_secret(first) is None
    assert Registry.for_notification_secret(third) == registry


def test_registry_config_refuses_another_service_than_the_registrys_host_name(registry, signing_files, tmp_path):
    with pytest.raises(CommandError, match="auth.token.service"):
        run("registry_config", "--registry", "main", "--registry-addr", "other.example:5000",
            "--portus-url", "https://p", "--storage", str(tmp_path))
    with pytest.raises(CommandError, match="No registry named 'nope'.*main"):
        run("registry_config", "--registry", "nope", "--portus-url", "https://p", "--storage", str(tmp_path))
    assert not Registry.objects.get(pk=registry.pk).has_notification_secret


def test_create_registry_says_how_to_get_its_configuration(db):
    out = run("create_registry", "--name", "r", "--hostname", "127.0.0.1:9", "--no-ssl", "--skip-check")
    assert "registry_config --registry r" in out


# --- the internal account's name (issue: a stranger's `portus` account made admin) -------------------------


def _squatter():
    """An account named portus that someone signed up before the name was reserved (as sign-up recorded it)."""
    from activities.services import activity_record

    user = User.objects.create(username="portus", email="stranger@example.org")
    user.set_password("stranger-password")
    user.save()
    activity_record(key="user.create", owner=user, target=user, parameters={"admin": False, "bot": False})
    return user


def test_create_api_account_refuses_to_adopt_an_account_it_did_not_create(db, options):
    options.set("secrets.portus_password", "internal-secret")
    squatter = _squatter()
    with pytest.raises(CommandError, match="not the internal account.*Delete that account"):
        run("create_api_account")
    squatter.refresh_from_db()
    assert not squatter.admin and not squatter.bot and squatter.check_password("stranger-password")


def test_the_squatter_can_be_deleted_and_the_internal_account_created(db, options, registry):
    from accounts.services import user_create, user_delete

    options.set("secrets.portus_password", "internal-secret")
    squatter = _squatter()
    admin = user_create(username="ada", email="ada@example.org", password="x-long-password", admin=True,
                        check_password=False)
    user_delete(user=squatter, by=admin)
    assert "Created" in run("create_api_account")
    assert "Updated" in run("create_api_account")
    internal = User.objects.get(username="portus")
    assert internal.admin and internal.bot and internal.check_password("internal-secret")


def test_an_internal_account_made_before_the_marker_is_still_adopted(db, options):
    from activities.services import activity_record

    options.set("secrets.portus_password", "internal-secret")
    old = User.objects.create(username="portus", email=None, admin=True, bot=True)
    activity_record(key="user.create", owner=old, target=old, parameters={"admin": True, "bot": True})
    assert "Updated" in run("create_api_account")
    assert User.objects.get(pk=old.pk).check_password("internal-secret")


def test_the_internal_account_cannot_be_deleted(db, options, registry):
    from django.core.exceptions import ValidationError

    from accounts.services import api_account_ensure, user_create, user_delete

    admin = user_create(username="ada", email="ada@example.org", password="x-long-password", admin=True,
                        check_password=False)
    internal, _ = api_account_ensure(password="internal-secret")
    with pytest.raises(ValidationError, match="internal portus account"):
        user_delete(user=internal, by=admin)


def test_create_user_refuses_reserved_names_unless_asked(db, monkeypatch):
    monkeypatch.setenv("NEW_PW", "a-long-enough-password")
    with pytest.raises(CommandError, match="reserved"):
        run("create_user", "--username", "registry", "--password-env", "NEW_PW")
    run("create_user", "--username", "registry", "--password-env", "NEW_PW", "--bot", "--allow-reserved-name")
    assert User.objects.get(username="registry").bot
    with pytest.raises(CommandError, match="internal account"):
        run("create_user", "--username", "portus", "--password-env", "NEW_PW", "--allow-reserved-name")


def test_create_registry_if_missing_keeps_the_one_there_and_refuses_another_host(db):
    args = ("create_registry", "--name", "local", "--no-ssl", "--skip-check", "--if-missing")
    assert "Added" in run(*args, "--hostname", "127.0.0.1:5000")
    assert "Keeping" in run(*args, "--hostname", "127.0.0.1:5000")
    with pytest.raises(CommandError, match="127.0.0.1:5000.*not 127.0.0.1:5001"):
        run(*args, "--hostname", "127.0.0.1:5001")
    assert Registry.objects.get().hostname == "127.0.0.1:5000"


def test_registry_config_writes_a_file_only_its_owner_reads(registry, signing_files, tmp_path):
    target = tmp_path / "registry.yml"
    target.write_text("old")
    target.chmod(0o644)
    call_command("registry_config", "--registry", "main", "--portus-url", "https://p", "--storage", str(tmp_path),
                 "-o", str(target), stdout=io.StringIO(), stderr=io.StringIO())
    assert target.stat().st_mode & 0o777 == 0o600
    assert _notification_secret(yaml.safe_load(target.read_text())).startswith("pns_")
