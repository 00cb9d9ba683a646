"""A stored event wakes a waiting background process at once on PostgreSQL (the inbox's NOTIFY trigger and
mirror/wake.py); elsewhere, and whenever the wake fails, the poll goes on."""

from __future__ import annotations

import json
import threading
import time

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


@pytest.fixture(autouse=True)
def _rings_afresh():
    """Each test's first delivery rings: when this connection last rang (in an earlier test, perhaps
    within the window) is forgotten."""
    forget_the_ring()


def forget_the_ring() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('portus.inbox_rang', '', false)")


def pushed(n: int) -> dict:
    return event("push", "qa/app", digest="sha256:" + f"{n:064x}", tag=f"t{n}")


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
    forget_the_ring()  # as a connection that rang longer ago than the window
    deliver(client, event("push", "qa/app", digest="sha256:" + "f" * 64, tag="v2"))
    assert wake.wait(30) is True


@postgres_only
def test_a_connection_rings_once_per_window_and_the_woken_process_looks_again(client, registry, wake):
    """The second delivery on the same connection within the window sends nothing; the process woken by
    the first looks again a window (and a margin) after it heard it, without waiting for its poll."""
    deliver(client, pushed(1))
    assert wake.wait(30) is True
    deliver(client, pushed(2))  # within the window of the first ring: no notification
    assert wake.wait(30) is False and wake.woken_by == "look again"
    wake._conn.poll()
    assert not wake._conn.notifies
    assert wake.wait(0.2) is False and wake.woken_by == "timeout"  # once per ring heard


@postgres_only
def test_after_the_window_the_connection_rings_again(client, registry, wake):
    deliver(client, pushed(1))
    assert wake.wait(30) is True
    time.sleep(wake_module.RING_WINDOW_SECONDS * 1.5)
    deliver(client, pushed(2))
    assert wake.wait(30) is True and wake.woken_by == "notification"


@postgres_only
def test_a_ring_rolled_back_is_forgotten(client, registry, wake):
    """A transaction that stored a pending row and rolled back sent nothing, and does not stop the next
    delivery from ringing."""
    from mirror import inbox

    rows = inbox.rows_from_body(json.dumps({"events": [pushed(1)]}).encode(),
                                content_type="application/vnd.docker.distribution.events.v1+json", registry=registry)
    with pytest.raises(RuntimeError), transaction.atomic():
        inbox.store(rows)
        raise RuntimeError("rolled back")
    deliver(client, pushed(2))
    assert wake.wait(30) is True and wake.woken_by == "notification"
    wake._conn.poll()
    assert not wake._conn.notifies


@postgres_only
def test_a_process_that_begins_to_listen_looks_again_after_the_window(client, registry):
    """A ring sent just before the process listened went to nobody, and the same connection's next rows
    within its window ring nothing: the new listener looks again once, a window later."""
    deliver(client, pushed(1))  # rings to nobody
    waker = InboxWake(threading.Event())
    try:
        waker.start()
        deliver(client, pushed(2))  # within the window: no notification
        assert waker.wait(30) is False and waker.woken_by == "look again"
    finally:
        waker.close()


@postgres_only
@pytest.mark.parametrize("stored", ["garbage", "1e400", "-5", "99999999999.5", ""])
def test_an_odd_value_of_the_setting_rings(client, registry, wake, stored):
    """Whatever the session's setting holds (a value the trigger did not write, a time ahead of the
    clock as after the clock stepped back), the insert succeeds and rings."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('portus.inbox_rang', %s, false)", [stored])
    deliver(client, pushed(1))
    assert wake.wait(30) is True and wake.woken_by == "notification"


@postgres_only
def test_the_trigger_rings_within_the_window_the_wake_expects():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef('portus_inbox_notify'::regproc)")
        source = cursor.fetchone()[0]
    assert f"rang::double precision + {wake_module.RING_WINDOW_SECONDS}" in source
    assert wake_module.LOOK_AGAIN_SECONDS > wake_module.RING_WINDOW_SECONDS


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
