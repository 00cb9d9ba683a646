"""On PostgreSQL a delivery of one event with a secret this process knows is authenticated and stored by one
statement (inbox.store_if_holder), which inserts only if the registry holds the secret at that moment. The
process's copy of the registries table only presumes who holds it: a secret rotated away elsewhere (the
copy still naming it) is refused at once and stores nothing; a secret the copy does not know yet is looked
up as before."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirror import inbox
from mirror.models import Event
from registries.models import Registry, directory
from registries.services import registry_create, registry_notification_secret_rotate
from tests.webhooks.fakes import EVENTS_V1, SERVICE, event, sha
from tests.wsgi_client import WsgiClient

pytestmark = pytest.mark.django_db

URL = "/v2/webhooks/events"
DIGEST = sha(b"manifest")


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the checked insert is PostgreSQL's (SQLite authenticates, then inserts: no round trip)")


@pytest.fixture(params=["wsgi", "django-test-client"])
def client(request, client):
    return WsgiClient() if request.param == "wsgi" else client


def post(client, secret, *tags, size_over: int = 0):
    events = [event("push", "qa/app", digest=DIGEST, tag=tag, host=SERVICE) for tag in tags]
    body = json.dumps({"events": events}) + " " * size_over
    return client.post(URL, data=body, content_type=EVENTS_V1, HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def other(db):
    return registry_create(name="other", hostname="other.test.lan:5000", use_ssl=False, by=None, check=False)


def test_one_event_costs_one_statement(client, registry):
    secret = registry_notification_secret_rotate(registry=registry, by=None).plain
    directory()
    with CaptureQueriesContext(connection) as queries:
        assert post(client, secret, "v1").status_code == 202
    assert len(queries) == 1 and queries[0]["sql"].startswith("WITH holder AS (")
    stored = Event.objects.get()
    assert (stored.tag, stored.registry, stored.registry_authenticated, stored.status) == (
        "v1", registry, True, Event.Status.PENDING)


def test_a_duplicate_delivery_is_answered_and_stored_once(client, registry):
    secret = registry_notification_secret_rotate(registry=registry, by=None).plain
    one = event("push", "qa/app", digest=DIGEST, tag="v1", host=SERVICE, event_id="same-event")
    for _ in range(2):
        response = client.post(URL, data=json.dumps({"events": [one]}), content_type=EVENTS_V1,
                               HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 202
    assert Event.objects.count() == 1


def test_a_secret_rotated_away_in_another_process_is_refused_at_once(client, registry, monkeypatch):
    old = registry_notification_secret_rotate(registry=registry, by=None).plain
    directory()
    # A rotation without a previous secret, as another process makes it: this process's copy still names
    # the old one (its refresh is kept away).
    new = registry_notification_secret_rotate(registry=registry, by=None, keep_previous=False).plain
    copy = directory()
    stale = dataclasses.replace(copy, loaded_at=copy.loaded_at + 10**6,
                                by_secret={Registry.hash_notification_secret(old): registry})
    monkeypatch.setattr("registries.models._directory", stale)
    assert Registry.presumed_for_notification_secret(old) is not None  # presumed, still
    response = post(client, old, "leaked")
    assert response.status_code == 401
    assert not Event.objects.exists()
    assert post(client, new, "fresh").status_code == 202  # not presumed: looked up, as before
    assert list(Event.objects.values_list("tag", flat=True)) == ["fresh"]


def test_the_previous_secret_holds_only_inside_its_window(client, registry, monkeypatch):
    first = registry_notification_secret_rotate(registry=registry, by=None).plain
    registry_notification_secret_rotate(registry=registry, by=None)
    assert Registry.presumed_for_notification_secret(first) is not None
    assert post(client, first, "inside").status_code == 202
    later = timezone.now() + timedelta(hours=25)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert Registry.presumed_for_notification_secret(first) is not None  # the copy does not look at windows
    assert post(client, first, "outside").status_code == 401
    assert list(Event.objects.values_list("tag", flat=True)) == ["inside"]


def test_several_events_are_authenticated_then_stored(client, registry):
    secret = registry_notification_secret_rotate(registry=registry, by=None).plain
    directory()
    with CaptureQueriesContext(connection) as queries:
        assert post(client, secret, "a", "b", "c").status_code == 202
    statements = [q["sql"] for q in queries]
    assert not any(sql.startswith("WITH holder") for sql in statements)
    assert len([sql for sql in statements if sql.startswith("INSERT INTO")]) == 1  # after the secret's look-up
    assert sorted(Event.objects.values_list("tag", flat=True)) == ["a", "b", "c"]
    assert set(Event.objects.values_list("registry", flat=True)) == {registry.pk}


def test_an_oversized_delivery_with_a_rotated_secret_hears_401_not_413(client, registry, options):
    old = registry_notification_secret_rotate(registry=registry, by=None).plain
    directory()
    Registry.objects.filter(pk=registry.pk).update(notification_secret_digest="0" * 64)  # elsewhere, no signal
    options.set("limits.max_body_bytes", 4096)
    limit = 4096
    assert post(client, old, "big", size_over=limit).status_code == 401
    good = registry_notification_secret_rotate(registry=registry, by=None).plain
    assert post(client, good, "big", size_over=limit).status_code == 413
    assert not Event.objects.exists()


def test_the_statement_stores_nothing_for_a_registry_that_does_not_hold_the_digest(registry, other):
    secret = registry_notification_secret_rotate(registry=registry, by=None).plain
    digest = Registry.hash_notification_secret(secret)
    rows = inbox.rows_from_body(json.dumps({"events": [event("push", "qa/app", digest=DIGEST, tag="x")]}).encode(),
                                content_type=EVENTS_V1, registry=other)
    assert inbox.store_if_holder(rows, registry=other, digest=digest) is False
    assert inbox.store_if_holder(rows, registry=registry, digest=digest) is True
    assert inbox.store_if_holder(rows * 2, registry=registry, digest=digest) is None  # several: not this way
    assert Event.objects.count() == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(digest=st.text(max_size=80), tag=st.text(max_size=200))
def test_any_digest_or_event_text_either_holds_or_stores_nothing(registry, digest, tag):
    Event.objects.all().delete()
    secret = registry_notification_secret_rotate(registry=registry, by=None).plain
    body = json.dumps({"events": [event("push", "qa/app", digest=DIGEST, tag=tag)]}).encode("utf-8", "surrogatepass")
    rows = inbox.rows_from_body(body, content_type=EVENTS_V1, registry=registry)
    held = inbox.store_if_holder(rows, registry=registry, digest=digest.replace("\x00", ""))
    assert held is (digest.replace("\x00", "") == Registry.hash_notification_secret(secret))
    assert Event.objects.count() == (1 if held else 0)
