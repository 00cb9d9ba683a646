"""Strangers' wrong passwords for `portus` never stop the background's work as the internal account."""

from __future__ import annotations

import base64

import pytest

from registries.client import RegistryClient
from tests.webhooks.fakes import image


@pytest.mark.django_db
def test_wrong_passwords_for_portus_do_not_stop_the_in_process_token(client, fake_registry, registry,
                                                                     internal_account, options):
    options.set("rate_limit.failures", 1000)
    for i in range(10):
        header = "Basic " + base64.b64encode(f"portus:guess-{i}".encode()).decode()
        assert client.get("/v2/token", HTTP_AUTHORIZATION=header).status_code == 401
    internal_account.refresh_from_db()
    # Its password logins are paused (the password is guessable from outside) ...
    assert internal_account.is_locked()
    # ... but the background mints its tokens in-process, and those do not depend on the lock.
    img = fake_registry.put("qa/app", image("locked-out"), tag="v1")
    client_ = RegistryClient(registry)
    assert client_.get_manifest("qa/app", img.digest).digest == img.digest
    assert "qa/app" in list(client_.catalog())
