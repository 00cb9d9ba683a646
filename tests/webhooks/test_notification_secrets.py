"""Each registry's own notification secret: it authenticates the delivery and names the registry of every
event in it; the legacy shared secret keeps working as before."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirror import views
from mirror.models import Event
from mirror.services import event_retry
from registries.models import Registry
from registries.services import registry_create, registry_notification_secret_rotate
from tests.webhooks.fakes import EVENTS_V1, SERVICE, event, sha
from tests.wsgi_client import WsgiClient


@pytest.fixture(params=["wsgi", "django-test-client"])
def client(request, client):
    """Each test twice: through the product's WSGI application (the short way, portus/lean.py) and
    through Django's test handler (the whole stack): both must give the same answers."""
    return WsgiClient() if request.param == "wsgi" else client


pytestmark = pytest.mark.django_db

URL = "/v2/webhooks/events"
LEGACY = "test-webhook-secret"
DIGEST = sha(b"manifest")


def post(client, events, secret):
    return client.post(URL, data=json.dumps({"events": events}), content_type=EVENTS_V1,
                       HTTP_AUTHORIZATION=f"Bearer {secret}")


def push(tag="latest", host=SERVICE, **kwargs):
    return event("push", "qa/app", digest=DIGEST, tag=tag, host=host, **kwargs)


@pytest.fixture
def other(db):
    return registry_create(name="other", hostname="other.test.lan:5000", use_ssl=False, by=None, check=False)


def test_a_registrys_secret_names_the_registry_of_every_event_whatever_its_host_says(client, registry, other):
    secret = registry_notification_secret_rotate(registry=other, by=None).plain
    response = post(client, [push(tag="a", host=SERVICE), push(tag="b", host="nowhere.example"),
                             push(tag="c", host="")], secret)
    assert response.status_code == 202
    rows = list(Event.objects.order_by("tag"))
    assert [(e.tag, e.registry, e.registry_authenticated, e.status) for e in rows] == [
        ("a", other, True, Event.Status.PENDING), ("b", other, True, Event.Status.PENDING),
        ("c", other, True, Event.Status.PENDING)]
    assert rows[0].request_host == SERVICE  # kept as sent, but not believed


def test_one_registrys_secret_is_not_anothers(client, registry, other):
    mine = registry_notification_secret_rotate(registry=registry, by=None).plain
    registry_notification_secret_rotate(registry=other, by=None)
    post(client, [push(host=other.hostname)], mine)
    assert Event.objects.get().registry == registry


@pytest.mark.parametrize("presented", ["", "pns_wrong", "x" * 5000, "test-webhook-secret-but-longer"])
def test_wrong_secrets_are_refused_and_nothing_is_stored(client, registry, presented):
    registry_notification_secret_rotate(registry=registry, by=None)
    response = client.post(URL, data=json.dumps({"events": [push()]}), content_type=EVENTS_V1,
                           HTTP_AUTHORIZATION=f"Bearer {presented}")
    assert response.status_code == 401
    assert not Event.objects.exists()


def test_without_the_legacy_secret_only_registry_secrets_work(client, registry, options):
    options.set("secrets.webhook_secret", "")
    secret = registry_notification_secret_rotate(registry=registry, by=None).plain
    assert post(client, [push()], LEGACY).status_code == 401
    assert post(client, [push()], secret).status_code == 202


def test_the_previous_secret_is_accepted_for_a_day_after_a_rotation(client, registry, monkeypatch):
    first = registry_notification_secret_rotate(registry=registry, by=None).plain
    second = registry_notification_secret_rotate(registry=registry, by=None)
    assert second.previous_valid_until > timezone.now() + timedelta(hours=23)
    assert post(client, [push(tag="old")], first).status_code == 202  # the registry is not restarted yet
    assert post(client, [push(tag="new")], second.plain).status_code == 202
    assert set(Event.objects.values_list("registry", flat=True)) == {registry.pk}
    later = timezone.now() + timedelta(hours=25)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert post(client, [push(tag="late")], first).status_code == 401
    assert post(client, [push(tag="late")], second.plain).status_code == 202


def test_a_leaked_secret_can_be_revoked_at_once(client, registry):
    first = registry_notification_secret_rotate(registry=registry, by=None).plain
    second = registry_notification_secret_rotate(registry=registry, by=None, keep_previous=False)
    assert second.previous_valid_until is None
    assert post(client, [push()], first).status_code == 401
    assert post(client, [push()], second.plain).status_code == 202


def test_only_the_last_previous_secret_is_kept(client, registry):
    first = registry_notification_secret_rotate(registry=registry, by=None).plain
    registry_notification_secret_rotate(registry=registry, by=None)
    registry_notification_secret_rotate(registry=registry, by=None)
    assert post(client, [push()], first).status_code == 401


def test_the_secret_is_stored_only_as_a_keyed_hash(registry):
    made = registry_notification_secret_rotate(registry=registry, by=None)
    row = Registry.objects.filter(pk=registry.pk).values().get()
    assert made.plain not in json.dumps(row, default=str)
    assert row["notification_secret_prefix"] == made.plain[:11]


def test_the_legacy_shared_secret_still_works_by_request_host_with_a_warning(client, registry, other, caplog,
                                                                             monkeypatch):
    monkeypatch.setattr(views, "_legacy_warned", False)
    with caplog.at_level(logging.WARNING, logger="mirror.views"):
        post(client, [push(tag="a", host=SERVICE), push(tag="b", host=other.hostname)], LEGACY)
        post(client, [push(tag="c")], LEGACY)
    rows = {e.tag: e for e in Event.objects.all()}
    assert rows["a"].registry == registry and rows["b"].registry == other
    assert not any(e.registry_authenticated for e in rows.values())
    assert caplog.text.count("legacy") == 1


def test_a_retried_event_keeps_the_registry_whose_secret_came_with_it(client, registry, other):
    secret = registry_notification_secret_rotate(registry=other, by=None).plain
    post(client, [push(host=SERVICE, at="yesterday")], secret)  # flagged: unreadable timestamp
    stored = Event.objects.get()
    assert stored.status == Event.Status.FLAGGED and stored.registry == other
    assert event_retry(event=stored).registry == other  # not `registry`, which its request.host names


def test_events_of_a_deleted_registry_are_flagged_not_given_to_another(client, registry, other):
    secret = registry_notification_secret_rotate(registry=other, by=None).plain
    post(client, [push(host=SERVICE)], secret)
    other.delete()
    retried = event_retry(event=Event.objects.get())
    assert retried.registry is None and retried.status == Event.Status.FLAGGED
    assert "deleted" in retried.last_error


def test_a_malformed_delivery_with_a_registrys_secret_is_kept_as_that_registrys(client, registry):
    secret = registry_notification_secret_rotate(registry=registry, by=None).plain
    client.post(URL, data=b"not json", content_type=EVENTS_V1, HTTP_AUTHORIZATION=f"Bearer {secret}")
    stored = Event.objects.get()
    assert stored.status == Event.Status.FLAGGED and stored.registry == registry


def test_processing_never_hands_an_event_to_the_registry_its_host_names(client, registry, other):
    from mirror import processing

    secret = registry_notification_secret_rotate(registry=other, by=None).plain
    post(client, [push(host=SERVICE)], secret)
    other.delete()
    processing.drain()
    stored = Event.objects.get()
    assert stored.status == Event.Status.FLAGGED and stored.registry is None
    assert "deleted" in stored.last_error


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(presented=st.text(max_size=400).filter(lambda value: value.strip() != LEGACY))
def test_any_presented_secret_is_refused_cleanly(client, registry, presented):
    registry_notification_secret_rotate(registry=registry, by=None)
    header = f"Bearer {presented}".encode("utf-8", "surrogatepass").decode("latin-1")
    response = client.post(URL, data=json.dumps({"events": [push()]}), content_type=EVENTS_V1,
                           HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert not Event.objects.exists()
