"""Fixtures of the federation tests: a generic OpenID Connect provider configured, clients as actors."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.web.conftest import as_user  # noqa: F401


@pytest.fixture
def sso(options):
    options.set("oauth.openid_connect.enabled", True)
    options.set("oauth.openid_connect.issuer", "https://id.example.test")
    options.set("oauth.openid_connect.identifier", "portus")
    options.set("oauth.openid_connect.name", "Acme ID")
    from federation import providers

    return providers.get("openid_connect")


@pytest.fixture
def anonymous(db, admin) -> Client:
    """A visitor of an instance that has accounts (an empty one sends the sign-in page to sign-up)."""
    return Client()
