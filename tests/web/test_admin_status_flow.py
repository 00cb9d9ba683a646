"""/admin: the last hour's event flow as a server-drawn chart, each registry's last event and last plan,
and the hint about the registry's `notifications` section when a sync found pushes no event brought."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from mirror.models import Event
from web.status import MINUTES, event_flow


def make_event(n: int, status: str, *, received_ago: timedelta, processed_ago: timedelta | None = None,
               registry=None, now=None) -> Event:
    now = now or timezone.now()
    return Event.objects.create(
        event_id=f"flow-{n}", status=status, timestamp=now - received_ago, received_at=now - received_ago,
        next_attempt_at=now - received_ago, raw="{}", action="push", repository="qa/app", tag=f"v{n}",
        processed_at=None if processed_ago is None else now - processed_ago, registry=registry)


def test_the_flow_counts_each_minute_of_the_last_hour(db):
    # Half way through a minute, so that "a second ago" and "a minute ago" fall in the minutes named below
    # whenever the test runs.
    now = timezone.now().replace(second=30, microsecond=0)
    for n in range(3):
        make_event(n, "done", received_ago=timedelta(minutes=5), processed_ago=timedelta(minutes=4), now=now)
    make_event(3, "failed", received_ago=timedelta(minutes=10), processed_ago=timedelta(minutes=2), now=now)
    make_event(4, "ignored", received_ago=timedelta(minutes=1), processed_ago=timedelta(minutes=1), now=now)
    make_event(5, "pending", received_ago=timedelta(seconds=1), now=now)
    make_event(6, "done", received_ago=timedelta(hours=2), processed_ago=timedelta(hours=2), now=now)  # too old
    flow = event_flow(now=now)
    received, processed, failed = (s.counts for s in flow.series)
    assert len(received) == MINUTES and sum(received) == 6 and sum(processed) == 4 and sum(failed) == 1
    assert received[-1 - 5] == 3 and received[-1] == 1 and processed[-1 - 4] == 3 and failed[-1 - 2] == 1
    assert flow.peak == 3 and not flow.empty


def test_the_chart_renders_with_data(as_user, admin, registry, reachable):
    for n in range(4):
        make_event(n, "done", received_ago=timedelta(minutes=n), processed_ago=timedelta(minutes=n))
    make_event(9, "flagged", received_ago=timedelta(minutes=3), processed_ago=timedelta(minutes=3))
    html = as_user(admin).get("/admin").content.decode()
    chart = re.search(r'<svg [^>]*data-chart="event-flow".*?</svg>', html, re.S).group(0)
    assert "Registry events per minute in the last hour: 5 received, 4 processed, 1 failed" in chart
    lines = dict(re.findall(r'data-series="(\w+)" points="([^"]+)"', chart))
    assert set(lines) == {"received", "processed", "failed"}
    for points in lines.values():
        pairs = [tuple(map(float, p.split(","))) for p in points.split()]
        assert len(pairs) == MINUTES and all(0 <= x <= 600 and 0 <= y <= 120 for x, y in pairs)
    top = min(y for _, y in (tuple(map(float, p.split(","))) for p in lines["received"].split()))
    assert top == 4.0  # the busiest minute reaches the top line
    assert "No registry event in the last hour." not in html


def test_an_hour_without_events_says_so(as_user, admin, registry, reachable):
    assert "No registry event in the last hour." in as_user(admin).get("/admin").content.decode()


def test_the_flow_costs_the_same_queries_whatever_the_traffic(as_user, admin, registry, reachable,
                                                             django_assert_max_num_queries):
    client = as_user(admin)
    make_event(0, "failed", received_ago=timedelta(minutes=1), processed_ago=timedelta(minutes=1), registry=registry)
    client.get("/admin")
    with django_assert_max_num_queries(30) as few:
        client.get("/admin")
    for n in range(1, 120):
        make_event(n, "done" if n % 3 else "failed", received_ago=timedelta(minutes=n % 59),
                   processed_ago=timedelta(minutes=n % 50), registry=registry)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/admin")


def _synced(registry, **summary) -> None:
    registry.last_sync_at = timezone.now()
    registry.last_sync_outcome = "complete"
    registry.last_sync_summary = {"tags_added": 2, "tags_changed": 0, "tags_removed": 0, "repositories_removed": 0,
                                  "withheld": "", "errors": 0, "seconds": 1.5,
                                  "changes_sample": [["add", "qa/app", "v1"], ["add", "qa/app", "<b>v2</b>"]],
                                  **summary}
    registry.save()


def test_the_last_plan_is_shown(as_user, admin, registry, reachable):
    _synced(registry, unnotified=0)
    html = as_user(admin).get("/admin").content.decode()
    assert "What it changed" in html and "qa/app:v1" in html and "in 1.5 s" in html
    assert "<b>v2</b>" not in html and "&lt;b&gt;v2&lt;/b&gt;" in html
    assert 'data-hint="notifications"' not in html
    assert "Last event received: never" in html


def test_tags_no_event_brought_give_the_notifications_hint(as_user, admin, registry, reachable):
    _synced(registry, unnotified=2, unnotified_sample=["qa/app:v1", "qa/app:v2"])
    html = as_user(admin).get("/admin").content.decode()
    assert 'data-hint="notifications"' in html
    assert "found 2 tags that no event of this registry named" in html and "<code>qa/app:v1</code>" in html
    assert "No event has arrived from this registry at all." in html
    assert "manage.py registry_config --registry main" in html
    make_event(1, "done", received_ago=timedelta(minutes=1), processed_ago=timedelta(minutes=1), registry=registry)
    html = as_user(admin).get("/admin").content.decode()
    assert 'data-hint="notifications"' in html and "No event has arrived from this registry at all." not in html


@pytest.mark.parametrize("value", [None, "7", -1, [], {"a": 1}])
def test_a_strange_summary_gives_no_hint_and_no_error(as_user, admin, registry, reachable, value):
    _synced(registry, unnotified=value, unnotified_sample="not a list")
    response = as_user(admin).get("/admin")
    assert response.status_code == 200 and 'data-hint="notifications"' not in response.content.decode()
