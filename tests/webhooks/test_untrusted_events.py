"""What an event claims is checked before it changes anything: times from the future are not believed,
and a delete is confirmed with the registry before a tag is forgotten."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from mirror import processing
from mirror.inbox import CLOCK_SKEW
from mirror.models import Event
from namespaces.models import Repository, Tag, Tombstone
from tests.webhooks.fakes import event, image
from tests.wsgi_client import WsgiClient


@pytest.fixture(params=["wsgi", "django-test-client"])
def client(request, client):
    """Each test twice: through the product's WSGI application (the short way, portus/lean.py) and
    through Django's test handler (the whole stack): both must give the same answers."""
    return WsgiClient() if request.param == "wsgi" else client



def deliver(client, *events) -> None:
    response = client.post("/v2/webhooks/events", data=json.dumps({"events": list(events)}),
                           content_type="application/vnd.docker.distribution.events.v1+json",
                           HTTP_AUTHORIZATION="Bearer test-webhook-secret")
    assert response.status_code == 202


def soon():
    return timezone.now() + timedelta(seconds=1)


def tag_of(tag: str = "latest") -> Tag | None:
    return Tag.objects.filter(repository__namespace__name="qa", repository__name="app", name=tag).first()


@pytest.fixture
def pushed(client, fake_registry, namespace):
    img = fake_registry.put("qa/app", image("one"), tag="latest")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="latest", at=timezone.now() - timedelta(hours=1)))
    processing.drain()
    assert tag_of().digest == img.digest
    return img


# --- times ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_time_from_the_future_is_stored_as_the_time_received(client, registry):
    before = timezone.now()
    deliver(client, event("delete", "qa/app", tag="latest", media_type="", at="2099-01-01T00:00:00Z"))
    stored = Event.objects.get()
    assert before <= stored.timestamp <= timezone.now() and stored.timestamp == stored.received_at
    assert stored.payload["timestamp"] == "2099-01-01T00:00:00Z"  # the original is kept


@pytest.mark.django_db
def test_a_clock_a_little_ahead_is_believed(client, registry):
    ahead = timezone.now() + CLOCK_SKEW / 2
    deliver(client, event("push", "qa/app", digest="sha256:" + "a" * 64, tag="x", at=ahead))
    assert abs((Event.objects.get().timestamp - ahead).total_seconds()) < 0.001


@pytest.mark.django_db
def test_a_delete_stamped_2099_does_not_hide_every_later_push(client, fake_registry, pushed):
    fake_registry.untag("qa/app", "latest")
    deliver(client, event("delete", "qa/app", tag="latest", media_type="", at="2099-01-01T00:00:00Z"))
    processing.drain()
    assert tag_of() is None
    again = fake_registry.put("qa/app", image("two"), tag="latest")
    deliver(client, event("push", "qa/app", digest=again.digest, tag="latest", at=soon()))
    processing.drain()
    assert tag_of() is not None and tag_of().digest == again.digest
    assert Tombstone.objects.get(value="latest").event_time.year < 2099


# --- deletes are confirmed ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_delete_of_a_tag_the_registry_still_serves_is_not_applied(client, fake_registry, pushed):
    deliver(client, event("delete", "qa/app", tag="latest", media_type=""))
    processing.drain()
    assert tag_of().digest == pushed.digest
    assert not Tombstone.objects.exists()
    done = Event.objects.get(action="delete")
    assert done.status == Event.Status.DONE
    assert "not applied" in done.last_error and "still serves qa/app:latest" in done.last_error
    assert "/v2/qa/app/manifests/latest" in fake_registry.fetches("HEAD")


@pytest.mark.django_db
def test_a_delete_of_a_tag_that_moved_since_is_applied(client, fake_registry, pushed):
    moved = fake_registry.put("qa/app", image("moved"), tag="latest")  # pushed again; its event comes later
    deliver(client, event("delete", "qa/app", tag="latest", media_type=""))
    processing.drain()
    assert tag_of() is None
    deliver(client, event("push", "qa/app", digest=moved.digest, tag="latest", at=soon()))
    processing.drain()
    assert tag_of().digest == moved.digest


@pytest.mark.django_db
def test_a_delete_of_an_unknown_tag_the_registry_serves_leaves_no_tombstone(client, fake_registry, namespace):
    img = fake_registry.put("qa/app", image("late"), tag="latest")  # its push event is still on its way
    deliver(client, event("delete", "qa/app", tag="latest", media_type=""))
    processing.drain()
    assert not Tombstone.objects.exists()
    deliver(client, event("push", "qa/app", digest=img.digest, tag="latest", at=timezone.now() - timedelta(minutes=1)))
    processing.drain()
    assert tag_of().digest == img.digest


@pytest.mark.django_db
def test_a_delete_by_digest_the_registry_still_serves_is_not_applied(client, fake_registry, pushed):
    deliver(client, event("delete", "qa/app", digest=pushed.digest, media_type=""))
    processing.drain()
    assert tag_of().digest == pushed.digest
    assert "not applied" in Event.objects.get(action="delete").last_error


@pytest.mark.django_db
def test_a_repository_delete_the_registry_contradicts_is_not_applied(client, fake_registry, pushed):
    deliver(client, event("delete", "qa/app", media_type=""))
    processing.drain()
    assert Repository.objects.filter(name="app").exists()
    assert "still lists 1 tag(s)" in Event.objects.get(action="delete").last_error


@pytest.mark.django_db
def test_a_delete_is_retried_while_the_registry_cannot_confirm_it(client, fake_registry, pushed):
    fake_registry.untag("qa/app", "latest")
    fake_registry.down = True
    deliver(client, event("delete", "qa/app", tag="latest", media_type=""))
    processing.drain()
    waiting = Event.objects.get(action="delete")
    assert waiting.status == Event.Status.PENDING and waiting.attempts == 1
    assert tag_of() is not None
    fake_registry.down = False
    processing.drain(now=timezone.now() + timedelta(minutes=1))
    assert Event.objects.get(action="delete").status == Event.Status.DONE
    assert tag_of() is None
