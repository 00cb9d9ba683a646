"""Calling a registry over TLS: its certificate is checked against `registry.ca_file` when one is set."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

import pytest

from portus import config
from portus.options import registry_tls_verify
from registries.client import RegistryClient, RegistryUnavailable
from registries.services import registry_check
from tests.e2e.support.tls import TestCA
from tests.webhooks.fakes import FakeRegistry, image

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def tls_registry(ca, registry, internal_account):
    """The fake registry serving HTTPS with a certificate of the test CA, and the test registry on it."""
    from realm.token import forget_registries
    from registries.client import forget_tokens
    from registries.models import Registry

    issued = ca.issue("fake-registry", ips=("127.0.0.1",))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert, issued.key)
    fake = FakeRegistry()
    fake.server.socket = context.wrap_socket(fake.server.socket, server_side=True)
    fake.start()
    Registry.objects.filter(pk=registry.pk).update(hostname=fake.address, use_ssl=True)
    registry.refresh_from_db()
    forget_tokens()
    forget_registries()
    yield fake
    fake.stop()
    forget_tokens()


def test_manifest_is_read_over_tls_with_the_configured_ca(tls_registry, registry, options, ca):
    options.set("registry.ca_file.value", str(ca.cert))
    img = tls_registry.put("qa/app", image("over-tls"), tag="v1")
    assert RegistryClient(registry).get_manifest("qa/app", img.digest).body == img.body


def test_a_certificate_of_an_unknown_ca_is_refused(tls_registry, registry):
    img = tls_registry.put("qa/app", image("untrusted"), tag="v1")
    with pytest.raises(RegistryUnavailable, match="SSLError"):
        RegistryClient(registry).get_manifest("qa/app", img.digest)
    assert not tls_registry.fetches()  # nothing was sent, the internal account's token least of all


def test_reachability_check_uses_the_ca_and_says_what_to_set(tls_registry, options, ca):
    untrusted = registry_check(hostname=tls_registry.address, use_ssl=True)
    assert not untrusted.ok and "registry.ca_file" in untrusted.message
    options.set("registry.ca_file.value", str(ca.cert))
    assert registry_check(hostname=tls_registry.address, use_ssl=True).ok


def test_what_requests_verifies_with(options, settings):
    assert registry_tls_verify() is True
    options.set("registry.ca_file.value", "config/company-ca.pem")
    assert registry_tls_verify() == str(Path(settings.BASE_DIR) / "config/company-ca.pem")
    options.set("registry.verify_tls.enabled", False)
    assert registry_tls_verify() is False


# --- the option itself ------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path):
    shutil.copy(config.CONFIG_DIR / "config.yml", tmp_path / "config.yml")
    return tmp_path


def test_a_ca_bundle_is_accepted(folder, ca):
    tree = config.load(folder, environ={"PORTUS_REGISTRY_CA_FILE": str(ca.cert)})
    assert tree["registry"]["ca_file"]["value"] == str(ca.cert)


def test_a_relative_ca_file_is_taken_from_the_project_folder(folder, ca, monkeypatch):
    monkeypatch.setattr(config, "BASE_DIR", ca.folder.parent)
    config.load(folder, environ={"PORTUS_REGISTRY_CA_FILE": f"{ca.folder.name}/ca.crt"})


@pytest.mark.parametrize("content", [None, b"", b"not a certificate\n", b"-----BEGIN CERTIFICATE-----\nAAAA\n"])
def test_a_missing_or_unreadable_ca_file_is_refused_at_start_up(folder, tmp_path, content):
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(config.ConfigError, match="registry.ca_file.value"):
        config.load(folder, environ={"PORTUS_REGISTRY_CA_FILE": str(path)})


def test_a_directory_is_not_a_ca_file(folder, tmp_path):
    with pytest.raises(config.ConfigError, match="no file"):
        config.load(folder, environ={"PORTUS_REGISTRY_CA_FILE": str(tmp_path)})
