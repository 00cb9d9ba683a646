"""The registry's notifications, fed hostile envelopes: always 202, every delivery kept, never a 5xx.

The registry retries a refused delivery forever and holds every later event behind it (PROTOCOL.md §3),
so whatever an authenticated registry sends must be stored (flagged when it makes no sense), never lost.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirror.inbox import hashed_id, parse_event
from mirror.models import Event
from tests.fuzz.strategies import hostile_json, hostile_text
from tests.webhooks.fakes import EVENTS_V1, SERVICE, event, sha
from tests.wsgi_client import WsgiClient

URL = "/v2/webhooks/events"
SECRET = "test-webhook-secret"

_target = st.fixed_dictionaries({}, optional={
    "mediaType": hostile_text() | st.sampled_from(["application/vnd.oci.image.manifest.v1+json", ""]),
    "digest": hostile_text() | st.just(sha(b"x")),
    "repository": hostile_text() | st.just("qa/app"),
    "tag": hostile_text() | st.just("latest"),
    "size": hostile_json(0),
    "references": hostile_json(2),
})
_event = st.fixed_dictionaries({}, optional={
    "id": hostile_text() | st.uuids().map(str),
    "timestamp": hostile_text() | st.sampled_from(["2099-01-01T00:00:00Z", "2024-05-01T10:00:00.123456789Z",
                                                    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00"]),
    "action": hostile_text() | st.sampled_from(["push", "pull", "mount", "delete"]),
    "target": _target | hostile_json(1),
    "request": st.fixed_dictionaries({}, optional={"host": hostile_text() | st.just(SERVICE)}) | hostile_json(1),
    "actor": st.fixed_dictionaries({}, optional={"name": hostile_text()}) | hostile_json(1),
}) | hostile_json(2)
envelopes = st.one_of(
    st.fixed_dictionaries({"events": st.lists(_event, max_size=6)}),
    hostile_json(3),
)


@pytest.fixture(params=["wsgi", "django-test-client"])
def client(request, client):
    """Through the product's WSGI application (the short way, portus/lean.py) and Django's whole stack."""
    return WsgiClient() if request.param == "wsgi" else client


def _post(client, data: bytes | str, content_type: str = EVENTS_V1):
    return client.post(URL, data=data, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {SECRET}")


@pytest.mark.django_db
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(envelope=envelopes)
def test_every_hostile_envelope_is_kept_and_answered_202(client, registry, envelope):
    body = json.dumps(envelope)
    response = _post(client, body)
    assert response.status_code == 202, response.content[:300]
    assert len(response.content) < 4096
    if isinstance(envelope, dict) and isinstance(envelope.get("events"), list):
        # Each event is a row (a redelivery is the row already there): nothing vanishes.
        for element in envelope["events"]:
            assert Event.objects.filter(event_id=parse_event(element).event_id).exists(), element
    else:
        assert Event.objects.get(event_id=hashed_id(body.encode())).status == Event.Status.FLAGGED


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=2048))
def test_bytes_that_are_not_json_are_kept_flagged(client, registry, raw):
    response = _post(client, raw)
    assert response.status_code == 202
    try:
        envelope = json.loads(raw)
    except ValueError:
        envelope = None
    if not (isinstance(envelope, dict) and isinstance(envelope.get("events"), list)):
        assert Event.objects.get(event_id=hashed_id(raw)).status == Event.Status.FLAGGED


@pytest.mark.django_db
def test_a_deeply_nested_envelope_is_kept_flagged(client, registry):
    response = _post(client, '{"events":' + "[" * 100_000 + "]" * 100_000 + "}")
    assert response.status_code == 202
    stored = Event.objects.get()
    assert stored.status == Event.Status.FLAGGED


@pytest.mark.django_db
def test_one_odd_event_does_not_hide_its_neighbours(client, registry):
    good = event("push", "qa/app", digest=sha(b"m"), tag="latest")
    odd = {"id": "\ud800" * 300, "action": "push\x00", "target": {"repository": "a" * 10_000}}
    response = _post(client, json.dumps({"events": [odd, good, ["not", "an", "object"]]}))
    assert response.status_code == 202
    assert Event.objects.count() == 3
    assert Event.objects.filter(event_id=good["id"], status=Event.Status.PENDING).exists()
    assert Event.objects.filter(status=Event.Status.FLAGGED).count() == 2
