"""/admin: registry reachability, background process, event inbox counts with retry, last sync."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mirror.models import Event, Heartbeat


def make_event(n: int, status: str, **extra) -> Event:
    now = timezone.now()
    return Event.objects.create(event_id=f"event-{n}", status=status, timestamp=now, received_at=now,
                                next_attempt_at=now, raw="{}", action="push", repository="qa/app", tag="1.0",
                                **extra)


@pytest.fixture
def retried(monkeypatch):
    """Records the events the page asks the inbox service to retry."""
    from mirror import services

    calls = []
    monkeypatch.setattr(services, "event_retry", lambda *, event, by=None, now=None: calls.append((event.pk, by)))
    return calls


def test_registry_reachability_and_last_sync(as_user, admin, registry, unreachable):
    registry.last_sync_at = timezone.now() - timedelta(minutes=3)
    registry.last_sync_error = "catalog: 503 Service Unavailable"
    registry.save()
    html = as_user(admin).get("/admin").content.decode()
    assert "unreachable" in html and "is not reachable: ConnectionError." in html
    assert "3\xa0minutes ago" in html and "catalog: 503 Service Unavailable" in html


def test_the_last_sync_says_what_it_did_and_why_it_removed_nothing(as_user, admin, registry, reachable):
    registry.last_sync_at = timezone.now()
    registry.last_sync_outcome = "removals-withheld"
    registry.last_sync_summary = {"tags_added": 4, "tags_changed": 2, "tags_removed": 0, "repositories_removed": 0,
                                  "withheld": "nothing removed: the run would remove 30 of 100 tags known here"}
    registry.save()
    html = as_user(admin).get("/admin").content.decode()
    assert "removals-withheld" in html and "4 tags added, 2 changed" in html
    assert "Removals withheld: nothing removed: the run would remove 30 of 100 tags known here" in html


def test_a_reachable_registry(as_user, admin, registry, reachable):
    assert ">reachable</span>" in as_user(admin).get("/admin").content.decode()


def test_the_background_process_is_running_or_not(as_user, admin, registry, reachable):
    client = as_user(admin)
    assert "not running" in client.get("/admin").content.decode()
    now = timezone.now()
    Heartbeat.objects.create(name="host-a:10", host="host-a", pid=10, started_at=now, last_seen=now)
    Heartbeat.objects.create(name="host-b:11", host="host-b", pid=11, started_at=now - timedelta(hours=1),
                             last_seen=now - timedelta(hours=1))
    html = client.get("/admin").content.decode()
    assert ">running</span>" in html and "host-a:10" in html and "host-b:11" in html and ">stale</span>" in html


def test_inbox_counts_and_the_events_that_need_attention(as_user, admin, registry, reachable):
    for i, status in enumerate(["pending", "pending", "failed", "flagged", "done", "ignored"]):
        make_event(i, status, last_error="registry said 500" if status == "failed" else "")
    response = as_user(admin).get("/admin")
    counts = response.context["inbox"]["counts"]
    assert (counts["pending"], counts["failed"], counts["flagged"], counts["done"]) == (2, 1, 1, 1)
    assert {e.status for e in response.context["inbox"]["attention"]} == {"failed", "flagged"}
    html = response.content.decode()
    assert "registry said 500" in html and "Retry failed events" in html and "Retry flagged events" in html


def test_retrying_one_event(as_user, admin, registry, retried):
    event = make_event(1, "failed")
    make_event(2, "done")
    response = as_user(admin).post("/admin/events/retry", {"event": str(event.pk)})
    assert response["Location"] == "/admin"
    assert retried == [(event.pk, admin)]


def test_retrying_every_flagged_event(as_user, admin, registry, retried):
    flagged = [make_event(i, "flagged").pk for i in range(3)]
    make_event(9, "failed")
    as_user(admin).post("/admin/events/retry", {"status": "flagged"})
    assert sorted(pk for pk, _ in retried) == flagged


def test_done_events_and_nonsense_are_not_retried(as_user, admin, registry, retried):
    done = make_event(1, "done")
    client = as_user(admin)
    client.post("/admin/events/retry", {"event": str(done.pk)})
    client.post("/admin/events/retry", {"status": "done"})
    client.post("/admin/events/retry", {"event": "1 OR 1=1"})
    assert retried == []


def test_retry_goes_through_the_real_service(as_user, admin, registry):
    event = make_event(1, "failed", attempts=7)
    event.raw = "not json"
    event.save()
    as_user(admin).post("/admin/events/retry", {"event": str(event.pk)})
    event.refresh_from_db()
    assert event.attempts == 0 and event.status == "flagged"  # read again from its raw text


def test_retry_needs_post_and_csrf(as_user, admin, registry, retried):
    event = make_event(1, "failed")
    assert as_user(admin).get("/admin/events/retry", {"event": event.pk}).status_code == 405
    assert as_user(admin, enforce_csrf=True).post("/admin/events/retry", {"event": event.pk}).status_code == 403
    assert retried == []


def test_the_status_page_runs_a_fixed_number_of_queries(as_user, admin, registry, reachable,
                                                       django_assert_max_num_queries):
    client = as_user(admin)
    make_event(0, "failed")
    client.get("/admin")
    # Each section (inbox, registries, event flow, retention runs, webhook deliveries) a few queries.
    with django_assert_max_num_queries(22) as few:
        client.get("/admin")
    for i in range(1, 60):
        make_event(i, "failed" if i % 2 else "flagged")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/admin")
    assert len(response.context["inbox"]["attention"].object_list) == 10


def test_without_the_inbox_the_rest_of_the_page_still_works(as_user, admin, registry, reachable, monkeypatch):
    from web.views import admin as admin_views

    monkeypatch.setattr(admin_views, "_webhooks", lambda: (None, None))
    response = as_user(admin).get("/admin")
    assert response.status_code == 200 and "The event inbox is not available." in response.content.decode()
    assert "Retrying events is not available." in as_user(admin).post(
        "/admin/events/retry", {"status": "failed"}, follow=True).content.decode()
