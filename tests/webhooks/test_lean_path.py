"""The short way through for the registry's notifications (portus/lean.py): the same answers as Django's
whole stack, two statements per delivery, a Host outside ALLOWED_HOSTS refused, a failure answered 500."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mirror import inbox
from mirror.models import Event
from tests.webhooks.fakes import EVENTS_V1, event, sha
from tests.wsgi_client import WsgiClient

URL = "/v2/webhooks/events"
SECRET = "test-webhook-secret"
UNSTABLE = {"date", "x-request-id"}  # the id is new for each request

CASES = {
    "a push": dict(data=json.dumps({"events": [event("push", "qa/app", digest=sha(b"m"), tag="v1")]}),
                   content_type=EVENTS_V1, HTTP_AUTHORIZATION=f"Bearer {SECRET}"),
    "a wrong secret": dict(data="{}", content_type=EVENTS_V1, HTTP_AUTHORIZATION="Bearer nope"),
    "no secret": dict(data="{}", content_type=EVENTS_V1),
    "not JSON": dict(data=b"\xff\x00", content_type=EVENTS_V1, HTTP_AUTHORIZATION=f"Bearer {SECRET}"),
    "too large": dict(data=b"x" * 70_000_000, content_type=EVENTS_V1, HTTP_AUTHORIZATION=f"Bearer {SECRET}"),
    "an odd content type": dict(data=json.dumps({"events": [event("delete", "qa/app", digest=sha(b"d"))]}),
                                content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {SECRET}"),
}


def _headers(pairs) -> dict[str, str]:
    return {name.lower(): value for name, value in pairs if name.lower() not in UNSTABLE}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(CASES))
def test_the_short_way_answers_exactly_like_the_whole_stack(client, registry, options, case):
    options.set("limits.max_body_bytes", 65_536) if case == "too large" else None
    kwargs = dict(CASES[case])
    if case == "too large":
        kwargs["data"] = b"x" * 70_000
    through_django = client.post(URL, **kwargs)
    Event.objects.all().delete()
    lean = WsgiClient().post(URL, **kwargs)
    assert lean.status_code == through_django.status_code
    assert lean.content == through_django.content
    assert _headers(lean.header_list) == _headers(through_django.items())
    assert "content-security-policy" in lean.headers and lean["x-content-type-options"] == "nosniff"
    assert lean["x-request-id"] and lean["x-request-id"] != through_django["x-request-id"]


@pytest.mark.django_db
def test_a_get_is_answered_405_with_allow(registry):
    response = WsgiClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    assert response.status_code == 405 and response["Allow"] == "POST"


@pytest.mark.django_db
def test_a_host_outside_allowed_hosts_is_refused_and_nothing_is_stored(registry, settings):
    settings.ALLOWED_HOSTS = ["portus.test.lan", "testserver"]
    body = json.dumps({"events": [event("push", "qa/app", digest=sha(b"m"), tag="v1")]})
    response = WsgiClient().post(URL, data=body, content_type=EVENTS_V1, HTTP_AUTHORIZATION=f"Bearer {SECRET}",
                                 HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_a_delivery_costs_two_statements_and_no_health_check(registry):
    client = WsgiClient()

    def deliver(n: int):
        body = json.dumps({"events": [event("push", "qa/app", digest=sha(b"m%d" % n), tag=f"v{n}")]})
        return client.post(URL, data=body, content_type=EVENTS_V1, HTTP_AUTHORIZATION=f"Bearer {SECRET}")

    assert deliver(0).status_code == 202  # loads this process's registry directory
    for n in range(1, 4):
        with CaptureQueriesContext(connection) as queries:
            assert deliver(n).status_code == 202
        statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
        assert statements == ["SELECT", "INSERT"], queries.captured_queries
        assert "SELECT 1" not in " ".join(q["sql"] for q in queries.captured_queries)
    assert Event.objects.filter(status=Event.Status.PENDING).count() == 4


@pytest.mark.django_db
def test_a_redelivery_is_stored_once(registry):
    body = json.dumps({"events": [event("push", "qa/app", digest=sha(b"m"), tag="v1")] * 3})
    client = WsgiClient()
    for _ in range(3):
        assert client.post(URL, data=body, content_type=EVENTS_V1,
                           HTTP_AUTHORIZATION=f"Bearer {SECRET}").status_code == 202
    assert Event.objects.count() == 1


@pytest.mark.django_db
def test_a_failure_is_answered_500_and_logged(registry, monkeypatch, caplog):
    def broken(rows):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(inbox, "store", broken)
    body = json.dumps({"events": [event("push", "qa/app", digest=sha(b"m"), tag="v1")]})
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = WsgiClient().post(URL, data=body, content_type=EVENTS_V1, HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    assert response.status_code == 500  # the registry delivers it again later
    assert "the disk is full" in caplog.text


@pytest.mark.django_db
def test_a_large_delivery_is_stored_in_batches_all_or_nothing(registry):
    events = [event("push", "qa/app", digest=sha(b"m%d" % n), tag=f"t{n}") for n in range(1200)]
    response = WsgiClient().post(URL, data=json.dumps({"events": events}), content_type=EVENTS_V1,
                                 HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    assert response.status_code == 202 and response.json() == {"received": 1200}
    assert Event.objects.count() == 1200
    stored = Event.objects.get(event_id=events[777]["id"])
    assert (stored.repository, stored.tag, stored.digest, stored.status) == ("qa/app", "t777", sha(b"m777"), "pending")
    assert stored.received_at is not None and stored.next_attempt_at is not None
