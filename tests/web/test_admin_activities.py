"""/admin/activities: filters, keyset pages with a fixed number of queries, and the streamed CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.http import StreamingHttpResponse

from activities.models import Activity
from activities.services import activity_record


@pytest.fixture
def history(admin, owner, outsider, namespace):
    Activity.objects.all().delete()  # the fixtures' own activities
    base = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    activity_record(key="repository.push", owner=owner, target_type="repository", target_name="qa/app",
                    namespace=namespace, parameters={"tag": "1.0"}, at=base)
    activity_record(key="repository.push", owner=outsider, target_type="repository", target_name="oscar/tool",
                    parameters={"tag": "2"}, at=base + timedelta(days=1))
    activity_record(key="team.create", owner=owner, target=namespace.team, team=namespace.team,
                    at=base + timedelta(days=2))
    return base


def keys(response):
    return [(a.key, a.owner.username if a.owner else None) for a in response.context["page"]]


def test_filter_by_key_user_and_date(as_user, admin, history):
    client = as_user(admin)
    assert set(keys(client.get("/admin/activities", {"key": "repository.push"}))) == {
        ("repository.push", "olivia"), ("repository.push", "oscar")}
    assert keys(client.get("/admin/activities", {"key": "repository.push", "user": "oscar"})) == [
        ("repository.push", "oscar")]
    assert keys(client.get("/admin/activities", {"user": "nobody"})) == []
    assert keys(client.get("/admin/activities", {"since": "2026-03-02", "until": "2026-03-02"})) == [
        ("repository.push", "oscar")]
    assert keys(client.get("/admin/activities", {"since": "2026-03-03"})) == [("team.create", "olivia")]


def test_an_invalid_filter_shows_nothing_and_says_why(as_user, admin, history):
    response = as_user(admin).get("/admin/activities", {"since": "2026-03-05", "until": "2026-03-01"})
    assert keys(response) == [] and "until" in response.context["form"].errors


def test_pages_go_by_keyset_with_a_fixed_number_of_queries(as_user, admin, owner,
                                                          django_assert_max_num_queries):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    Activity.objects.bulk_create([
        Activity(key="repository.push", owner=owner, target_type="repository", target_name=f"qa/app{i}",
                 created_at=start + timedelta(seconds=i // 2))  # pairs share a time: the id breaks the tie
        for i in range(260)
    ])
    client = as_user(admin)
    seen, url = [], "/admin/activities?key=repository.push"
    client.get(url)
    with django_assert_max_num_queries(8) as first:
        client.get(url)
    limit = len(first.captured_queries) + 1  # a later page may go back to the newest one
    while url:
        with django_assert_max_num_queries(limit):
            page = client.get(url).context["page"]
        seen.extend(a.pk for a in page)
        url = "/admin/activities" + page.older_url if page.older_url else None
    expected = list(Activity.objects.filter(key="repository.push").order_by("-created_at", "-id")
                    .values_list("pk", flat=True))
    assert seen == expected


def test_a_broken_cursor_falls_back_to_the_first_page(as_user, admin, history):
    response = as_user(admin).get("/admin/activities", {"before": "not-a-cursor!"})
    assert response.status_code == 200 and len(response.context["page"]) == Activity.objects.count()


def test_the_csv_export_streams_the_filtered_rows(as_user, admin, history):
    response = as_user(admin).get("/admin/activities.csv", {"user": "olivia"})
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="portus-activities-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["time", "key", "user", "target_type", "target_id", "target", "namespace", "team",
                       "parameters"]
    assert [(r[1], r[2], r[5]) for r in rows[1:]] == [("team.create", "olivia", "qa"),
                                                      ("repository.push", "olivia", "qa/app")]
    assert rows[2][0] == "2026-03-01T12:00:00+00:00" and rows[2][6] == "qa" and rows[2][8] == '{"tag": "1.0"}'


def test_csv_cells_never_start_a_formula(as_user, admin, owner):
    activity_record(key="team.create", owner=owner, target_type="team", target_name="=cmd|' /C calc'!A0")
    rows = list(csv.reader(io.StringIO(b"".join(as_user(admin).get("/admin/activities.csv").streaming_content)
                                       .decode())))
    assert [r[5] for r in rows[1:] if r[1] == "team.create"][0] == "'=cmd|' /C calc'!A0"


def test_the_csv_export_of_hundreds_of_rows_runs_a_few_queries(as_user, admin, owner, django_assert_max_num_queries):
    Activity.objects.bulk_create([
        Activity(key="repository.push", owner=owner, target_type="repository", target_name=f"qa/app{i}",
                 created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i)) for i in range(500)
    ])
    client = as_user(admin)
    with django_assert_max_num_queries(6):
        body = b"".join(client.get("/admin/activities.csv").streaming_content)
    assert body.count(b"\n") == Activity.objects.count() + 1


def test_the_page_escapes_what_users_wrote(as_user, admin, owner):
    activity_record(key="team.create", owner=owner, target_type="team", target_name="<b>bold</b>")
    html = as_user(admin).get("/admin/activities").content.decode()
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
