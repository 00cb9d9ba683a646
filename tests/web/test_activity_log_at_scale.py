"""The activity log at any size: keyset pages and CSV batches that neither skip nor repeat a row where times
tie, and a number of queries per page that does not grow with the log."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.models import NEWEST_FIRST, Activity
from web.views import admin_activities, keyset_paginate

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 1, tzinfo=UTC)


def fill(count: int, *, owner=None, namespace=None, seconds=lambda i: i // 3, key: str = "repository.push") -> None:
    """`count` rows; by default every three share a second (ties the id must break)."""
    Activity.objects.bulk_create([
        Activity(key=key, owner=owner, namespace=namespace, target_type="repository", target_name=f"qa/app{i}",
                 parameters={"tag": str(i)}, created_at=START + timedelta(seconds=seconds(i)))
        for i in range(count)
    ])


def newest_first_ids() -> list[int]:
    return list(Activity.objects.order_by(*NEWEST_FIRST).values_list("pk", flat=True))


def walk(per_page: int) -> tuple[list[list[int]], list[list[int]]]:
    """Every page going older from the newest, then every page going newer back from the oldest."""
    factory = RequestFactory()
    older, newer = [], []
    query = ""
    while True:
        page = keyset_paginate(factory.get("/x" + query), Activity.objects.all(), per_page=per_page)
        older.append([a.pk for a in page])
        if not page.older_url:
            break
        query = page.older_url
    while page.newer_url:
        page = keyset_paginate(factory.get("/x" + page.newer_url), Activity.objects.all(), per_page=per_page)
        newer.append([a.pk for a in page])
    return older, newer


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seconds=st.lists(st.integers(min_value=0, max_value=6), min_size=0, max_size=40),
       per_page=st.integers(min_value=1, max_value=9))
def test_keyset_pages_hold_every_row_once_in_order_whatever_the_ties(db, seconds, per_page):
    Activity.objects.all().delete()
    fill(len(seconds), seconds=lambda i: seconds[i])
    expected = newest_first_ids()
    older, newer = walk(per_page)
    assert [pk for page in older for pk in page] == expected
    assert all(len(page) == per_page for page in older[:-1])
    # Back towards the newest from the oldest page: the same pages, the newest as the first one showed it.
    assert newer == list(reversed(older[:-1]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seconds=st.lists(st.integers(min_value=0, max_value=4), min_size=0, max_size=40),
       size=st.integers(min_value=1, max_value=7))
def test_batches_hold_every_row_once_in_order_whatever_the_ties(db, seconds, size):
    Activity.objects.all().delete()
    fill(len(seconds), seconds=lambda i: seconds[i])
    with CaptureQueriesContext(connection) as queries:
        read = [a.pk for a in Activity.objects.all().in_batches(size)]
    assert read == newest_first_ids()
    assert len(queries) == len(read) // size + 1  # one query per batch, one more to see the end


def test_a_row_written_while_paging_is_neither_shown_twice_nor_shifts_a_page(db):
    fill(30)
    factory = RequestFactory()
    first = keyset_paginate(factory.get("/x"), Activity.objects.all(), per_page=10)
    fill(5, seconds=lambda i: 10_000 + i)  # newer rows arrive between two clicks
    second = keyset_paginate(factory.get("/x" + first.older_url), Activity.objects.all(), per_page=10)
    expected = newest_first_ids()[5:]
    assert [a.pk for a in [*first, *second]] == expected[:20]


@pytest.mark.parametrize("url", ["/", "/admin/activities", "/admin/activities?key=repository.push",
                                 "/admin/activities?user=olivia"])
def test_log_pages_run_the_same_queries_for_a_short_and_a_long_log(as_user, admin, owner, namespace, url):
    client = as_user(admin if url.startswith("/admin") else owner)
    counts = []
    for rows in (60, 400):
        fill(rows, owner=owner, namespace=namespace)
        first = client.get(url)
        assert first.status_code == 200
        deep = "&" if "?" in url else "?"
        cursor = first.context["activities" if url == "/" else "page"].older_url
        assert cursor, "the log must be longer than a page"
        with CaptureQueriesContext(connection) as on_first:
            client.get(url)
        with CaptureQueriesContext(connection) as on_older:
            client.get(url + deep + cursor.lstrip("?"))
        counts.append((len(on_first), len(on_older)))
    assert counts[0] == counts[1], f"{url}: {counts[0]} queries with 60 rows, {counts[1]} with 460"


def test_the_csv_export_reads_by_keyset_batches_and_holds_every_row(as_user, admin, owner, namespace,
                                                                    monkeypatch):
    Activity.objects.all().delete()
    fill(230, owner=owner, namespace=namespace, seconds=lambda i: i // 7)
    monkeypatch.setattr(admin_activities, "CSV_CHUNK", 50)
    client = as_user(admin)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/activities.csv")
        chunks = iter(response.streaming_content)
        header = next(chunks)
        before_rows = len(queries)
        body = header + b"".join(chunks)
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert len(rows) == 231
    expected = list(Activity.objects.order_by(*NEWEST_FIRST).values_list("parameters__tag", flat=True))
    assert [row[8] for row in rows[1:]] == [f'{{"tag": "{tag}"}}' for tag in expected]
    assert len({row[8] for row in rows[1:]}) == 230
    # Streamed: the header leaves before any activity is read; then 5 batches of 50 (the last one short).
    batches = [q for q in queries.captured_queries[before_rows:] if "activities_activity" in q["sql"]]
    assert len(batches) == 5
    assert all("LIMIT 50" in q["sql"] for q in batches)


def test_the_csv_export_of_a_filter_holds_only_its_rows(as_user, admin, owner, namespace, monkeypatch):
    Activity.objects.all().delete()
    fill(40, owner=owner, namespace=namespace, key="tag.delete")
    fill(40, owner=None, namespace=namespace)
    monkeypatch.setattr(admin_activities, "CSV_CHUNK", 7)
    body = b"".join(as_user(admin).get("/admin/activities.csv", {"key": "tag.delete"}).streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode())))[1:]
    assert len(rows) == 40 and {(r[1], r[2]) for r in rows} == {("tag.delete", "olivia")}
