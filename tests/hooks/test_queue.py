"""The delivery queue's guarantees: queued in the mirror's own transaction, claimed by one worker at a time,
reclaimed after a lost worker's lease, run by portus_background."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from hooks import queue
from hooks.models import Delivery
from hooks.services import WebhookInput, webhook_create
from mirror import processing
from mirror.models import Event
from mirror.signals import event_processed
from tests.hooks.helpers import push

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook(namespace, owner, receiver, private_allowed):
    return webhook_create(namespace=namespace, data=WebhookInput(url=receiver.url()), by=owner)[0]


def test_deliveries_commit_with_the_event_or_not_at_all(client, fake_registry, webhook):
    def crash(sender, **kwargs):
        raise RuntimeError("the process died here")

    event_processed.connect(crash, dispatch_uid="test-crash")
    try:
        push(client, fake_registry)
    finally:
        event_processed.disconnect(dispatch_uid="test-crash")
    event = Event.objects.get(action="push")
    assert event.status == "pending" and "died" in event.last_error  # the mirror's work rolled back too
    assert not Delivery.objects.exists()
    processing.drain(now=timezone.now() + timedelta(hours=1))
    assert Event.objects.get(pk=event.pk).status == "done"
    assert Delivery.objects.filter(webhook=webhook).count() == 1


def test_a_bug_in_queueing_never_holds_up_the_registry_events(client, fake_registry, webhook, monkeypatch):
    monkeypatch.setattr(queue, "deliveries_queue", lambda **kwargs: 1 / 0)
    push(client, fake_registry)
    assert Event.objects.get(action="push").status == "done"
    assert not Delivery.objects.exists()


def test_a_lost_workers_lease_expires_and_its_late_outcome_is_dropped(webhook, receiver):
    queue.ping_queue(webhook=webhook)
    t0 = timezone.now()
    first_token, [first] = queue.claim(now=t0)
    assert queue.claim(now=t0 + timedelta(seconds=30))[1] == []  # held
    second_token, [second] = queue.claim(now=t0 + queue.LEASE + timedelta(seconds=1))
    assert second.pk == first.pk and second.attempts == 2
    assert queue.deliver(second, second_token, now=t0 + queue.LEASE + timedelta(seconds=1)) == "succeeded"
    assert queue.deliver(first, first_token, now=t0 + queue.LEASE + timedelta(seconds=2)) == "delivering"
    assert Delivery.objects.get(pk=first.pk).status == "succeeded"


def test_portus_background_once_sends_what_is_due(client, fake_registry, webhook, receiver):
    push(client, fake_registry)
    out = io.StringIO()
    call_command("portus_background", "--once", "--no-sync", stdout=out)
    assert "sent 1 webhook delivery attempt(s)" in out.getvalue()
    assert len(receiver.requests) == 1


def test_the_delivery_loop_runs_in_its_own_thread_until_stopped(webhook, receiver, transactional_db):
    from hooks import background

    queue.ping_queue(webhook=webhook)
    stopping = threading.Event()
    thread = background.start(stopping)
    try:
        for _ in range(200):
            if Delivery.objects.filter(status="succeeded").exists():
                break
            stopping.wait(0.05)
    finally:
        stopping.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert Delivery.objects.get().status == "succeeded" and len(receiver.requests) == 1


def test_a_disabled_webhook_holds_its_queue_until_enabled(client, fake_registry, webhook, receiver):
    push(client, fake_registry)
    webhook.enabled = False
    webhook.save()
    queue.ping_queue(webhook=webhook)  # a test goes anyway
    queue.drain()
    assert [r.headers["X-Portus-Event"] for r in receiver.requests] == ["ping"]
    assert Delivery.objects.get(event_type="push").status == "pending"
    webhook.enabled = True
    webhook.save()
    queue.drain()
    assert sorted(r.headers["X-Portus-Event"] for r in receiver.requests) == ["ping", "push"]
