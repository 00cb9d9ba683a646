"""`manage.py bench_pages` at a tiny size (so it cannot rot), and seed_demo's long activity log."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count

from activities.models import Activity
from web.templatetags.portus_activity import ACTIVITY_TEXTS

pytestmark = pytest.mark.django_db


def test_bench_pages_times_every_list_and_each_answers(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    out = io.StringIO()
    call_command("bench_pages", repositories=30, tags=120, activities=400, runs=1, warmup=0, stdout=out)
    rows = [line.split() for line in out.getvalue().splitlines() if line.startswith("/")]
    labels = {row[0] for row in rows}
    for page in ("/api/v1/repositories", "/api/v1/tags", "/admin/activities.csv", "/?before=<",
                 "/search?q=api", "/repositories/<most", "/api/v1/repositories/<most"):
        assert any(label.startswith(page) for label in labels), page
    # Every API list the bench can reach in a seeded world (deliveries need a webhook; retention its own app).
    for page in ("/api/v1/namespaces", "/api/v1/namespaces/retired", "/api/v1/namespaces/<fullest>/repositories",
                 "/api/v1/namespaces/<fullest>/grants", "/api/v1/namespaces/<fullest>/webhooks", "/api/v1/teams",
                 "/api/v1/teams/<largest>/members", "/api/v1/teams/<largest>/namespaces", "/api/v1/users",
                 "/api/v1/users/<self>/application_tokens", "/api/v1/users/<self>/refresh_tokens",
                 "/api/v1/registries", "/api/v1/robots", "/api/v1/tags?page=<last>",
                 "/api/v1/repositories?page=<last>", "/api/v1/repositories/<most tags>/tags",
                 "/api/v1/repositories/<most tags>/comments"):
        assert any(line.startswith(page + " ") for line in out.getvalue().splitlines()), page
    for row in rows:
        status, queries = row[-5], row[-1]
        assert status in {"200", "401", "403"}, row
        assert 0 <= int(queries) < 40, row
    assert re.search(r"Slowest p95: [\d.]+ ms", out.getvalue())


def test_seed_demo_tops_the_log_up_with_ties_and_known_events():
    call_command("seed_demo", repositories=40, tags=100, users=12, activities=3000, stdout=io.StringIO())
    assert Activity.objects.count() == 3000
    assert set(Activity.objects.values_list("key", flat=True)) <= set(ACTIVITY_TEXTS)
    assert not Activity.objects.filter(namespace__isnull=True).exists()
    ties = Activity.objects.values("created_at").annotate(n=Count("id")).filter(n__gt=1)
    assert ties.exists()  # rows of the same second, as keyset pagination must handle
    newest = Activity.objects.order_by("-created_at").first().created_at
    assert newest - Activity.objects.order_by("created_at").first().created_at > timedelta(days=300)
    call_command("seed_demo", repositories=40, tags=100, users=12, activities=3000, stdout=io.StringIO())
    assert Activity.objects.count() == 3000  # a second run adds nothing
