"""Simultaneous sign-ups on an empty instance (web form and API bootstrap): exactly one becomes admin."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import first_user_lock
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
RACERS = 12
PROCESS_RACERS = 8  # each one a Python process with Django loaded: fewer, on small CI machines


def _sign_up(index: int) -> int:
    """Half the racers use the web form, half the API bootstrap; the status code."""
    name = f"racer{index}"
    if index % 2:
        body = {"user": {"username": name, "email": f"{name}@example.org", "password": PASSWORD}}
        return APIClient().post("/api/v1/users/bootstrap", body, format="json").status_code
    form = {"username": name, "email": f"{name}@example.org", "password": PASSWORD, "password_confirm": PASSWORD}
    return Client().post("/users/sign_up", form).status_code


@pytest.mark.django_db(transaction=True)
def test_simultaneous_sign_ups_in_threads_make_one_admin(registry):
    if connection.vendor != "postgresql":
        pytest.skip("threads sharing the in-memory test database lock whole tables; see the process test")
    statuses: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(RACERS)

    def racer(index: int) -> None:
        try:
            start.wait()
            statuses.append(_sign_up(index))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert len(statuses) == RACERS and set(statuses) <= {201, 302, 400}, statuses
    assert User.objects.filter(username__startswith="racer", admin=True).count() == 1


RACER = """
import sys
import django
django.setup()
from tests.web.test_first_admin_race import _sign_up
print("ready", flush=True)
sys.stdin.readline()
print(_sign_up(int(sys.argv[1])), flush=True)
"""


def _admins_in(database_url: str) -> int:
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            query = "SELECT count(*) FROM accounts_user WHERE admin AND username LIKE 'racer%'"
            (count,) = db.execute(query).fetchone()
        return count
    return User.objects.filter(username__startswith="racer", admin=True).count()


@pytest.mark.django_db(transaction=True)
def test_simultaneous_sign_ups_in_processes_make_one_admin(tmp_path):
    """Separate processes, as gunicorn workers are: on a SQLite file, or on the PostgreSQL test database."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        url = f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env={**env, "DATABASE_URL": url},
                       check=True, capture_output=True, timeout=120)
    env["DATABASE_URL"] = url
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(i)], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for i in range(PROCESS_RACERS)]
    try:
        # A barrier: every racer has Django set up before any of them signs up.
        for racer in racers:
            assert racer.stdout.readline().strip() == "ready", racer.communicate(timeout=60)[1][-2000:]
        for racer in racers:
            racer.stdin.write("go\n")
            racer.stdin.flush()
        outputs = [r.communicate(timeout=120) for r in racers]
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
    assert all(r.returncode == 0 for r in racers), [err[-2000:] for _, err in outputs]
    statuses = [int(out.split()[-1]) for out, _ in outputs]
    assert set(statuses) <= {201, 302, 400}, statuses
    assert _admins_in(url) == 1


@pytest.mark.django_db
def test_first_user_lock_answers_whether_the_instance_is_empty(internal_account):
    with transaction.atomic():
        assert first_user_lock() is True
    User.objects.create(username="someone")
    with transaction.atomic():
        assert first_user_lock() is False


@pytest.mark.django_db(transaction=True)
def test_first_user_lock_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError):
        first_user_lock()
