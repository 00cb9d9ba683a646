"""Signing-key rotation: generate_keys --next / --promote / --drop-previous, the bundle the registry
trusts, and signers that follow the files without a restart."""

from __future__ import annotations

import io
import logging

import jwt
import pytest
import yaml
from cryptography import x509
from django.core.management import CommandError, call_command

from realm.key_rotation import KeyFiles
from realm.keys import SigningKey, libtrust_key_id


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def files(tmp_path, options) -> KeyFiles:
    options.set("secrets.key_path", str(tmp_path / "portus.key"))
    options.set("secrets.certificate_path", str(tmp_path / "portus.crt"))
    run("generate_keys", "--key-type", "ec")
    return KeyFiles.of(tmp_path / "portus.key", tmp_path / "portus.crt")


def kids(path) -> list[str]:
    return [libtrust_key_id(c.public_key()) for c in x509.load_pem_x509_certificates(path.read_bytes())]


def kid_of(path) -> str:
    return kids(path)[0]


def signed_kid(files: KeyFiles) -> str:
    token = SigningKey.load(files.key, files.certificate).sign({"sub": "x"})
    return jwt.get_unverified_header(token)["kid"]


def test_a_rotation_trusts_both_keys_then_signs_with_the_new_then_drops_the_old(files):
    old = kid_of(files.certificate)
    assert kids(files.bundle) == [old]

    said = run("generate_keys", "--next", "--key-type", "ec")
    new = kid_of(files.next_certificate)
    assert new != old and kids(files.bundle) == [old, new]
    assert signed_kid(files) == old  # nothing changes for tokens until the registry trusts both
    assert "restart the registry" in said and "--promote" in said

    said = run("generate_keys", "--promote")
    assert signed_kid(files) == new  # the same process, no restart: the files' stamps changed
    assert kid_of(files.previous_certificate) == old and not files.next_key.exists()
    assert kids(files.bundle) == [new, old]
    assert "--drop-previous" in said and "5 minutes" in said

    said = run("generate_keys", "--drop-previous")
    assert kids(files.bundle) == [new] and not files.previous_certificate.exists()
    assert "restart the registry" in said


def test_steps_out_of_order_are_refused_and_change_nothing(files):
    with pytest.raises(CommandError, match="--next"):
        run("generate_keys", "--promote")
    run("generate_keys", "--next", "--key-type", "ec")
    with pytest.raises(CommandError, match="promote it, or give --force"):
        run("generate_keys", "--next", "--key-type", "ec")
    run("generate_keys", "--promote")
    run("generate_keys", "--next", "--key-type", "ec")
    before = files.bundle.read_bytes()
    with pytest.raises(CommandError, match="--drop-previous"):
        run("generate_keys", "--promote")  # the previous key's tokens may still be live
    assert files.bundle.read_bytes() == before and files.next_key.exists()
    assert len(kids(files.bundle)) == 3
    assert "No previous" not in run("generate_keys", "--drop-previous")
    assert "No previous certificate" in run("generate_keys", "--drop-previous")


def test_the_key_files_keep_their_modes(files):
    run("generate_keys", "--next", "--key-type", "ec")
    assert files.next_key.stat().st_mode & 0o077 == 0
    run("generate_keys", "--promote")
    assert files.key.stat().st_mode & 0o077 == 0
    assert files.bundle.stat().st_mode & 0o777 == 0o644


def test_a_signer_half_way_through_a_promote_keeps_signing_with_the_old_key(files, caplog):
    old = signed_kid(files)
    run("generate_keys", "--next", "--key-type", "ec")
    files.next_certificate.replace(files.certificate)  # the certificate is replaced, the key not yet
    with caplog.at_level(logging.WARNING, logger="realm.keys"):
        assert signed_kid(files) == old
    assert "do not match" in caplog.text or "does not match" in caplog.text
    files.next_key.replace(files.key)
    assert signed_kid(files) == kid_of(files.certificate) != old


def test_registry_config_points_the_registry_at_the_bundle(files, options, tmp_path):
    options.set("secrets.webhook_secret", "hook-secret")
    args = ("registry_config", "--portus-url", "https://p", "--registry-addr", "r:5000", "--storage", str(tmp_path))
    run("generate_keys", "--next", "--key-type", "ec")
    files.bundle.unlink()  # registry_config writes it again from what is trusted
    bundle = yaml.safe_load(run(*args))["auth"]["token"]["rootcertbundle"]
    assert bundle == str(files.bundle.resolve())
    assert kids(files.bundle) == [kid_of(files.certificate), kid_of(files.next_certificate)]


def test_registry_config_falls_back_to_the_certificate_where_the_bundle_cannot_be_written(files, options, tmp_path,
                                                                                        monkeypatch):
    import realm.management.commands.registry_config as command

    def read_only(_files):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(command, "write_bundle", read_only)
    options.set("secrets.webhook_secret", "hook-secret")
    args = ("registry_config", "--portus-url", "https://p", "--registry-addr", "r:5000", "--storage", str(tmp_path))
    assert yaml.safe_load(run(*args))["auth"]["token"]["rootcertbundle"] == str(files.certificate.resolve())
    run("generate_keys", "--next", "--key-type", "ec")
    with pytest.raises(CommandError, match="bundle"):
        run(*args)
