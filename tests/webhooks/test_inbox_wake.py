"""A stored event wakes a waiting background process at once on PostgreSQL (the inbox's NOTIFY trigger and
mirror/wake.py); elsewhere, and whenever the wake fails, the poll goes on."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection, transaction

from mirror import wake as wake_module
from mirror.wake import InboxWake
from tests.webhooks.fakes import event
from tests.webhooks.test_processing import deliver

pytestmark = pytest.mark.django_db(transaction=True)  # a notification is sent when the insert commits

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="LISTEN/NOTIFY is PostgreSQL's")


@pytest.fixture
def wake():
    waker = InboxWake(threading.Event())
    waker.start()
    yield waker
    waker.close()


@postgres_only
def test_a_stored_event_ends_the_wait(client, registry, wake):
    assert wake.wait(0) is False
    deliver(client, event("push", "qa/app", digest="sha256:" + "a" * 64, tag="v1"))
    assert wake.wait(30) is True
    assert wake.wait(0) is False  # one event, one wake


@postgres_only
def test_a_notification_sent_before_the_wait_is_kept(client, registry, wake):
    """LISTEN comes first: an event stored between a claim that found nothing and the wait still wakes it."""
    deliver(client, event("push", "qa/app", digest="sha256:" + "b" * 64, tag="v1"))
    assert wake.wait(30) is True


@postgres_only
def test_an_event_stored_by_the_secret_checked_insert_ends_the_wait(client, registry, wake):
    """A registry's own secret known to this process stores the event by one statement (a WITH … INSERT,
    mirror/inbox.py store_if_holder): the trigger sees that insert too."""
    from registries.models import directory
    from registries.services import registry_notification_secret_rotate

    secret = registry_notification_secret_rotate(registry=registry, by=None).plain
    directory()
    pushed = event("push", "qa/app", digest="sha256:" + "e" * 64, tag="v1")
    response = client.post("/v2/webhooks/events", content_type="application/vnd.docker.distribution.events.v1+json",
                           data=json.dumps({"events": [pushed]}), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 202
    assert wake.wait(30) is True


@postgres_only
def test_events_with_nothing_to_do_wake_nobody(client, registry, wake):
    deliver(client, event("push", "qa/app", digest="sha256:" + "c" * 64, media_type="application/octet-stream"),
            event("pull", "qa/app", digest="sha256:" + "d" * 64))  # a blob, a pull by digest: ignored rows
    assert wake.wait(1.0) is False


@postgres_only
def test_one_transaction_sends_one_notification(client, registry, wake):
    from mirror import inbox

    envelope = {"events": [event("push", "qa/app", digest="sha256:" + f"{n:064x}", tag=f"t{n}") for n in range(5)]}
    rows = inbox.rows_from_body(json.dumps(envelope).encode(),
                                content_type="application/vnd.docker.distribution.events.v1+json", registry=registry)
    assert [row.status for row in rows] == ["pending"] * 5
    with transaction.atomic():
        for row in rows:
            inbox.store([row])
    assert wake.wait(30) is True
    wake._conn.poll()
    assert not wake._conn.notifies


@postgres_only
def test_a_broken_listen_connection_falls_back_to_the_poll_and_comes_back(client, registry, wake, monkeypatch):
    monkeypatch.setattr(wake_module, "RETRY_SECONDS", 0.0)
    wake._conn.close()
    assert wake.wait(0.1) is False and wake._conn is None  # polled; LISTENs again at the next wait
    deliver(client, event("push", "qa/app", digest="sha256:" + "e" * 64, tag="v1"))
    assert wake.wait(0) is False  # listening again only now: the earlier notification went to nobody
    deliver(client, event("push", "qa/app", digest="sha256:" + "f" * 64, tag="v2"))
    assert wake.wait(30) is True


def test_stopping_ends_the_wait(wake):
    wake.stopping.set()
    assert wake.wait(30) is False


def test_the_wake_listens_exactly_on_postgresql(client, registry, wake):
    """Elsewhere the wait is the poll: it ends at its timeout, whatever is stored."""
    if connection.vendor == "postgresql":
        assert wake._conn is not None
        return
    assert wake._conn is None
    deliver(client, event("push", "qa/app", digest="sha256:" + "a" * 64, tag="v1"))
    assert wake.wait(0.05) is False


def test_the_trigger_exists_exactly_on_postgresql():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'portus_inbox_notify'")
            assert cursor.fetchone()[0] == 1
        else:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'portus_inbox_notify'")
            assert cursor.fetchone()[0] == 0
