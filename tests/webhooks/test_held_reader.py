"""The background's reader of held images (mirror.processing.HeldReader): the event loops hand it each
pushed image as soon as its tag is written and go on to the next event, and it reads the details beside
them, one read of each part as before. Whatever it cannot keep or reach in time, or still holds when the
process stops, goes back to the image queue at once: nothing waits out its hold."""

from __future__ import annotations

import threading
import time

import pytest

from images import fetch
from images import hooks as image_hooks
from images.models import Manifest
from mirror import processing
from namespaces.models import Tag
from tests.webhooks.fakes import OCI_MANIFEST, event
from tests.webhooks.test_processing import deliver
from tests.webhooks.test_pushed_details import _push_events, configured, reads


def _statuses(pushed) -> set[str]:
    return set(Manifest.objects.filter(digest__in=[img.digest for img in pushed]).values_list("status", flat=True))


def _wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_the_loop_hands_each_image_over_as_soon_as_its_tag_is_written(client, fake_registry, namespace,
                                                                       monkeypatch):
    stopping = threading.Event()
    reader = processing.HeldReader(stopping)  # not started: what the loop leaves is all there is to see
    handed = []
    real_take = reader.take
    monkeypatch.setattr(reader, "take", lambda held: handed.append((len(held), Tag.objects.count())) or real_take(held))
    pushed = _push_events(client, fake_registry, 3)

    assert processing.process_batch(limit=10, reader=reader) == 3

    assert [count for count, _ in handed if count] == [1, 1, 1]  # one image after each event, not one batch
    assert [tags for count, tags in handed if count] == [1, 2, 3]  # each right after its own tag
    assert reader.waiting() == 3
    assert reads(fake_registry, "/blobs/") == []  # no detail read in the loop
    assert _statuses(pushed) == {Manifest.Status.PENDING}
    assert fetch.claim(limit=5)[1] == []  # still held back from the queue: the reader will read them


@pytest.mark.django_db(transaction=True)
def test_the_reader_reads_the_details_beside_the_loop_once_each(client, fake_registry, namespace):
    stopping = threading.Event()
    reader = processing.HeldReader(stopping)
    pushed = _push_events(client, fake_registry, 3)
    assert processing.process_batch(limit=10, reader=reader) == 3
    reader.start()  # after the loop (the test database on SQLite cannot wait for another thread's lock)
    try:
        _wait_for(lambda: _statuses(pushed) == {Manifest.Status.DONE})
    finally:
        stopping.set()
        reader.join(10)
    assert sorted(reads(fake_registry, "/manifests/")) == sorted(f"/v2/qa/burst/manifests/{img.digest}"
                                                                 for img in pushed)  # the loop's read only
    assert sorted(reads(fake_registry, "/blobs/")) == sorted(f"/v2/qa/burst/blobs/{img.config_digest}"
                                                             for img in pushed)
    assert fetch.drain() == 0


def test_past_its_memory_bound_an_image_goes_back_to_the_queue_at_once(client, fake_registry, namespace):
    reader = processing.HeldReader(threading.Event(), max_bytes=1)
    pushed = _push_events(client, fake_registry, 2)
    assert processing.process_batch(limit=10, reader=reader) == 2
    assert reader.waiting() == 0
    assert sorted(m.digest for m in fetch.claim(limit=5)[1]) == sorted(img.digest for img in pushed)  # due now


def test_past_its_count_bound_an_image_goes_back_to_the_queue_at_once(client, fake_registry, namespace):
    reader = processing.HeldReader(threading.Event(), max_images=1)
    pushed = _push_events(client, fake_registry, 3)
    assert processing.process_batch(limit=10, reader=reader) == 3
    assert reader.waiting() == 1
    assert sorted(m.digest for m in fetch.claim(limit=5)[1]) == sorted(img.digest for img in pushed[1:])


@pytest.mark.django_db(transaction=True)
def test_an_image_that_waited_too_long_is_the_queues(client, fake_registry, namespace, monkeypatch):
    read, released = [], []
    real_release = image_hooks.release_held
    monkeypatch.setattr(image_hooks, "read_held", lambda held: read.append(held.digest))
    monkeypatch.setattr(image_hooks, "release_held", lambda held: released.append(held.digest) or real_release(held))
    stopping = threading.Event()
    reader = processing.HeldReader(stopping, max_wait=-1.0)  # every image has waited too long
    pushed = _push_events(client, fake_registry, 2)
    assert processing.process_batch(limit=10, reader=reader) == 2
    reader.start()
    try:
        _wait_for(lambda: len(released) == 2)
    finally:
        stopping.set()
        reader.join(10)
    assert read == []
    assert sorted(m.digest for m in fetch.claim(limit=5)[1]) == sorted(img.digest for img in pushed)  # due now


def test_stopping_hands_what_waits_back_to_the_queue_and_every_later_image_too(client, fake_registry, namespace):
    stopping = threading.Event()
    reader = processing.HeldReader(stopping)
    first = _push_events(client, fake_registry, 2)
    assert processing.process_batch(limit=10, reader=reader) == 2
    assert reader.waiting() == 2

    stopping.set()
    reader.run()  # returns at once: stopping

    assert reader.waiting() == 0
    assert sorted(m.digest for m in fetch.claim(limit=5)[1]) == sorted(img.digest for img in first)
    assert reads(fake_registry, "/blobs/") == []

    stopping.clear()  # a loop still finishing its event after the reader closed: handed back at once
    late = configured(fake_registry, "qa/burst", "late", tag="late")
    deliver(client, event("push", "qa/burst", digest=late.digest, tag="late", media_type=OCI_MANIFEST))
    assert processing.process_batch(limit=10, reader=reader) == 1
    assert reader.waiting() == 0
    assert [m.digest for m in fetch.claim(limit=5)[1]] == [late.digest]
