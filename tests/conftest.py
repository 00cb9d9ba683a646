"""Named actors and fixtures shared by the whole suite."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

PASSWORD = "correct-horse-battery"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Where end-to-end tests are required (the README's test command, CI), a skip is a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.get_closest_marker("e2e") and os.environ.get("E2E_REQUIRED") == "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"end-to-end test skipped, but end-to-end tests are required here: {reason}"


@pytest.fixture(scope="session")
def signing_files(tmp_path_factory) -> tuple[Path, Path]:
    from realm.keys import write_key_pair

    folder = tmp_path_factory.mktemp("keys")
    key, cert = folder / "portus.key", folder / "portus.crt"
    write_key_pair(key, cert, "portus.test.lan", rsa_bits=2048)
    return key, cert


@pytest.fixture(autouse=True)
def _portus_options(settings, signing_files):
    """Each test starts from the configured options, with the test signing key."""
    tree = copy.deepcopy(settings.PORTUS)
    tree["secrets"]["key_path"] = str(signing_files[0])
    tree["secrets"]["certificate_path"] = str(signing_files[1])
    settings.PORTUS = tree
    from django.core.cache import cache

    from realm.token import forget_registries

    cache.clear()
    forget_registries()
    yield
    forget_registries()


class Options:
    def __init__(self, settings) -> None:
        self._settings = settings

    def set(self, dotted: str, value) -> None:
        tree = copy.deepcopy(self._settings.PORTUS)
        node = tree
        keys = dotted.split(".")
        for key in keys[:-1]:
            node = node[key]
        assert keys[-1] in node, f"unknown option {dotted}"
        node[keys[-1]] = value
        self._settings.PORTUS = tree


@pytest.fixture
def options(settings) -> Options:
    """Change an option for one test: options.set("delete.enabled", True)."""
    return Options(settings)


@pytest.fixture
def registry(db):
    from registries.services import registry_create

    return registry_create(name="main", hostname="registry.test.lan:5000", use_ssl=False, by=None, check=False)


def _user(username: str, **kwargs):
    from accounts.services import user_create

    return user_create(username=username, email=f"{username}@example.org", password=PASSWORD,
                       check_password=False, **kwargs)


@pytest.fixture
def admin(db, registry):
    return _user("admin", admin=True)


@pytest.fixture
def owner(db, registry):
    return _user("olivia")


@pytest.fixture
def contributor(db, registry):
    return _user("carl")


@pytest.fixture
def viewer(db, registry):
    return _user("vera")


@pytest.fixture
def outsider(db, registry):
    return _user("oscar")


@pytest.fixture
def bot(db, registry):
    return _user("ci-bot", bot=True)


@pytest.fixture
def team(owner, contributor, viewer, bot):
    """Team `qa`: olivia owns it, carl contributes, vera views, ci-bot contributes."""
    from teams.models import Role
    from teams.services import team_create, team_member_add

    team = team_create(name="qa", owner=owner)
    team_member_add(team=team, user=contributor, role=Role.CONTRIBUTOR, by=owner)
    team_member_add(team=team, user=viewer, role=Role.VIEWER, by=owner)
    team_member_add(team=team, user=bot, role=Role.CONTRIBUTOR, by=owner)
    return team


@pytest.fixture
def namespace(team, registry, owner):
    """Namespace `qa` of team qa, private."""
    from namespaces.services import namespace_create

    return namespace_create(name="qa", team=team, by=owner, registry=registry)


@pytest.fixture
def internal_account(db, registry):
    from accounts.services import api_account_ensure

    return api_account_ensure(password="portus-internal-password")[0]


@pytest.fixture
def fake_registry(monkeypatch):
    """Every registry, as a FakeRegistry in memory (tests/fake_registry.py): empty until a test pushes to it."""
    from registries import client
    from tests.fake_registry import FakeRegistry

    fake = FakeRegistry()
    monkeypatch.setattr(client, "RegistryClient", fake.client)
    return fake
