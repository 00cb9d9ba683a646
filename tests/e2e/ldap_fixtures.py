"""Fixtures of the LDAP tests: one real slapd for the session, and the options that point Portus at it."""

from __future__ import annotations

import os

import pytest

from tests.e2e.support.slapd import Slapd, start_slapd


@pytest.fixture(scope="session")
def slapd(tmp_path_factory) -> Slapd:
    """Debian's slapd on free ports, seeded (tests/e2e/support/slapd.py). Missing slapd skips, which
    fails the run where end-to-end tests are required (E2E_REQUIRED=1, CI)."""
    if not os.path.exists("/usr/sbin/slapd"):
        pytest.skip("/usr/sbin/slapd is not installed: apt-get install slapd ldap-utils "
                    "(scripts/install-system-packages)")
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield server
    server.process.stop()


@pytest.fixture
def directory(slapd, options, registry):
    """LDAP on, over plain LDAP, searching as the reader; returns the server. Tests change single
    options afterwards (`options.set`)."""
    for dotted, value in slapd.options().items():
        options.set(dotted, value)
    return slapd
