"""Many concurrent first logins with one password cost one hash between them (per worker process), not
one each: the others wait for the first check and find it remembered (accounts/credentials.py)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from accounts import credentials
from accounts.models import User
from accounts.services import user_create

PASSWORD = "a-CI-password-for-everyone"


def _logins(monkeypatch, count: int) -> tuple[list, int]:
    user_create(username="ci", email=None, password=PASSWORD, check_password=False)
    hashes = []
    real = User.check_password
    entered = threading.Event()

    def counted(self, raw):
        hashes.append(raw)
        entered.set()
        threading.Event().wait(0.3)  # a slow hasher, so that every other login arrives meanwhile
        return real(self, raw)

    monkeypatch.setattr(User, "check_password", counted)
    start = threading.Barrier(count)
    results: list = []
    errors: list[BaseException] = []

    def login() -> None:
        try:
            start.wait()
            results.append(credentials.verify("ci", PASSWORD, address="198.51.100.7"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=login) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results, len(hashes)


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_first_logins_cost_one_hash(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("threads sharing the in-memory test database lock whole tables (CI runs PostgreSQL)")
    results, hashes = _logins(monkeypatch, 8)
    assert len(results) == 8 and all(r.ok and r.user.username == "ci" for r in results)
    assert hashes == 1


@pytest.mark.django_db(transaction=True)
def test_without_the_credential_cache_each_login_pays_its_hash(monkeypatch, options):
    if connection.vendor != "postgresql":
        pytest.skip("threads sharing the in-memory test database lock whole tables (CI runs PostgreSQL)")
    options.set("credential_cache.seconds", 0)
    results, hashes = _logins(monkeypatch, 4)
    assert all(r.ok for r in results)
    assert hashes == 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_each_count_as_a_failure(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("threads sharing the in-memory test database lock whole tables (CI runs PostgreSQL)")
    user_create(username="ci", email=None, password=PASSWORD, check_password=False)
    start = threading.Barrier(4)
    results: list = []

    def login() -> None:
        start.wait()
        results.append(credentials.verify("ci", "wrong-password", address="198.51.100.8"))
        connections.close_all()

    threads = [threading.Thread(target=login) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r.ok for r in results] == [False] * 4
    assert User.objects.get(username="ci").failed_attempts == 4


def test_the_table_of_checks_in_flight_empties_itself():
    with credentials._one_at_a_time("k1"), credentials._one_at_a_time("k2"):
        assert set(credentials._inflight) == {"k1", "k2"}
    assert credentials._inflight == {}
