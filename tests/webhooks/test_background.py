"""`manage.py portus_background` and what the status page reads: heartbeats, inbox counts, retries."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from mirror import processing, services
from mirror.models import Event, Heartbeat
from namespaces.models import Tag
from tests.webhooks.fakes import event, image


def deliver(client, *events) -> None:
    response = client.post("/v2/webhooks/events", data=json.dumps({"events": list(events)}),
                           content_type="application/json", HTTP_AUTHORIZATION="Bearer test-webhook-secret")
    assert response.status_code == 202


def test_once_drains_the_inbox_and_exits(client, fake_registry, namespace):
    images = [fake_registry.put("qa/app", image(f"i{i}"), tag=f"t{i}") for i in range(25)]
    deliver(client, *[event("push", "qa/app", digest=img.digest, tag=f"t{i}") for i, img in enumerate(images)])
    out = StringIO()
    call_command("portus_background", "--once", "--no-sync", "--batch", "10", stdout=out)
    assert "processed 25 event(s)" in out.getvalue()
    assert Tag.objects.count() == 25
    assert not Event.objects.exclude(status=Event.Status.DONE).exists()


def test_once_also_runs_a_due_sync(client, fake_registry, namespace):
    fake_registry.put("qa/synced", image("s"), tag="latest")
    out = StringIO()
    call_command("portus_background", "--once", stdout=out)
    assert "synced main: complete {'repositories_added': 1, 'tags_added': 1," in out.getvalue()
    assert Tag.objects.filter(repository__name="synced").exists()


def test_the_loop_processes_beats_and_stops_on_sigterm(client, fake_registry, namespace, monkeypatch):
    img = fake_registry.put("qa/app", image("loop"), tag="latest")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="latest"))
    beats = []
    real_beat = services.heartbeat_beat
    monkeypatch.setattr(services, "heartbeat_beat", lambda **kw: beats.append(kw) or real_beat(**kw))
    previous = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        call_command("portus_background", "--no-sync", "--interval", "0.05")
    finally:
        timer.cancel()
    assert Tag.objects.get().digest == img.digest
    assert beats and beats[-1]["info"]["processed"] == 1
    assert not Heartbeat.objects.exists()  # said goodbye
    assert signal.getsignal(signal.SIGTERM) == previous


def test_a_stopping_worker_finishes_the_event_in_hand_and_gives_back_the_rest(client, fake_registry, namespace):
    deliver(client, *[event("delete", "qa/app", tag=f"t{i}", media_type="") for i in range(5)])
    asked = []

    def stop_after_first() -> bool:
        asked.append(1)
        return len(asked) > 1

    assert processing.process_batch(limit=5, should_stop=stop_after_first) == 5
    assert Event.objects.filter(status=Event.Status.DONE).count() == 1
    rest = Event.objects.exclude(status=Event.Status.DONE)
    assert rest.count() == 4
    assert all(e.status == Event.Status.PENDING and e.attempts == 0 and e.lease_until is None for e in rest)


@pytest.mark.django_db
def test_inbox_counts_cover_every_status():
    now = timezone.now()
    for i, status in enumerate(["pending", "pending", "failed", "flagged", "done"]):
        Event.objects.create(event_id=f"e{i}", status=status, timestamp=now, received_at=now, next_attempt_at=now,
                             raw="{}")
    counts = services.inbox_counts()
    assert counts == {"pending": 2, "processing": 0, "done": 1, "failed": 1, "flagged": 1, "ignored": 0,
                      "attention": 2}


@pytest.mark.django_db
def test_backlog_age_is_the_oldest_due_event():
    now = timezone.now()
    assert services.inbox_backlog_age(now=now) is None
    Event.objects.create(event_id="old", timestamp=now, received_at=now - timedelta(seconds=30),
                         next_attempt_at=now - timedelta(seconds=30), raw="{}")
    assert services.inbox_backlog_age(now=now) == timedelta(seconds=30)


@pytest.mark.django_db
def test_background_status_tells_alive_from_stale():
    now = timezone.now()
    services.heartbeat_beat(name="host-a:1", info={"processed": 3}, now=now)
    services.heartbeat_beat(name="host-b:2", now=now - timedelta(minutes=5))
    status = services.background_status(now=now)
    assert [b.name for b in status.alive] == ["host-a:1"] and status.running
    assert [b.name for b in status.stale] == ["host-b:2"]
    assert status.alive[0].info == {"processed": 3} and status.alive[0].pid == 1
    services.heartbeat_beat(name="host-a:1", now=now + timedelta(seconds=5))
    assert Heartbeat.objects.get(name="host-a:1").started_at == now
    services.heartbeat_stop(name="host-a:1")
    assert not services.background_status(now=now).running


@pytest.mark.django_db
def test_leases_are_exclusive_until_they_expire():
    now = timezone.now()
    assert services.lease_acquire(name="job", holder="a", seconds=60, now=now)
    assert services.lease_acquire(name="job", holder="a", seconds=60, now=now)  # renewal
    assert not services.lease_acquire(name="job", holder="b", seconds=60, now=now)
    assert services.lease_acquire(name="job", holder="b", seconds=60, now=now + timedelta(seconds=61))
    services.lease_release(name="job", holder="b")
    assert services.lease_acquire(name="job", holder="c", seconds=60, now=now)


@pytest.mark.django_db
def test_prune_keeps_failed_and_flagged_events():
    old = timezone.now() - timedelta(days=60)
    for status in Event.Status.values:
        Event.objects.create(event_id=status, status=status, timestamp=old, received_at=old, next_attempt_at=old,
                             raw="{}")
    assert services.events_prune() == 2
    assert set(Event.objects.values_list("status", flat=True)) == {"pending", "processing", "failed", "flagged"}


def test_retry_of_failed_events_by_an_admin_is_recorded(client, fake_registry, namespace, admin):
    from activities.models import Activity

    img = fake_registry.put("qa/app", image("r"), tag="latest")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="latest"))
    Event.objects.update(status=Event.Status.FAILED, attempts=10, last_error="boom")
    assert services.events_retry_failed(by=admin) == 1
    stored = Event.objects.get()
    assert (stored.status, stored.attempts) == (Event.Status.PENDING, 0)
    assert Activity.objects.filter(key="webhook_event.retry_failed", owner=admin).exists()
    processing.drain()
    assert Tag.objects.get().digest == img.digest


def test_retry_leaves_an_event_in_hand_alone(client, fake_registry, namespace):
    deliver(client, event("delete", "qa/app", tag="x", media_type=""))
    taken = processing.claim()
    assert services.event_retry(event=taken.events[0]).status == Event.Status.PROCESSING


@pytest.mark.django_db(transaction=True)  # the loops' own connections see the events
@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="the test database on SQLite is shared-cache memory, whose table locks do not wait")
def test_event_workers_take_events_side_by_side(client, fake_registry, namespace, monkeypatch):
    images = [fake_registry.put("qa/app", image(f"w{n}"), tag=f"t{n}") for n in range(12)]
    deliver(client, *[event("push", "qa/app", digest=img.digest, tag=f"t{n}") for n, img in enumerate(images)])
    loops: list[str] = []
    real_batch = processing.process_batch

    def slow_batch(**kwargs):
        claimed = real_batch(**kwargs)
        if claimed:
            loops.append(threading.current_thread().name)
            time.sleep(0.05)  # an event's wait for the registry: the other loop takes the next one meanwhile
        return claimed

    monkeypatch.setattr(processing, "process_batch", slow_batch)
    stopper = threading.Thread(target=lambda: _stop_when(lambda: Tag.objects.count() == 12, timeout=30))
    stopper.start()
    try:
        call_command("portus_background", "--no-sync", "--interval", "0.05", "--batch", "1", "--event-workers", "2")
    finally:
        stopper.join()
    assert Tag.objects.count() == 12
    assert Event.objects.filter(status=Event.Status.DONE).count() == 12  # each once
    assert set(loops) == {threading.main_thread().name, "portus-events-2"}


def _stop_when(done, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    try:
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        connection.close()
        os.kill(os.getpid(), signal.SIGTERM)


def test_event_workers_are_bounded():
    for bad in ("0", "17"):
        with pytest.raises(CommandError, match="--event-workers must be 1 to 16"):
            call_command("portus_background", "--no-sync", "--event-workers", bad)
