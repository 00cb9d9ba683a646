"""A repository's pushes and pulls per day: counted where pushes and pulls are applied, drawn on its page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from activities.services import activities_record_many, activity_build
from namespaces.tags import tag_apply_push, tag_record_pull
from portus import charts
from traffic.models import RepositoryDay
from traffic.services import repository_traffic, traffic_count

pytestmark = pytest.mark.django_db

DIGEST_X = "sha256:" + "9" * 64


def _push(registry, tag: str, digest: str, when):
    return tag_apply_push(registry=registry, repository_name="qa/app", tag=tag, digest=digest,
                          media_type="application/vnd.oci.image.manifest.v1+json", image_id="", size=10,
                          platforms=[], author=None, event_time=when)


def test_pushes_and_pulls_land_on_their_days(registry, repository):
    now = timezone.now()
    two_days_ago = now - timedelta(days=2)
    assert _push(registry, "new", DIGEST_X, two_days_ago).applied
    assert _push(registry, "1.0", DIGEST_X, now).applied  # 1.0 moves from DIGEST_A to DIGEST_X
    assert not _push(registry, "1.0", DIGEST_X, now).applied  # the same event again counts nothing
    for _ in range(3):
        assert tag_record_pull(registry=registry, repository_name="qa/app", tag="1.0", event_time=now)
    assert tag_record_pull(registry=registry, repository_name="qa/app", tag="new", event_time=two_days_ago)
    assert not tag_record_pull(registry=registry, repository_name="qa/app", tag="gone", event_time=now)

    traffic = repository_traffic(repository)
    assert len(traffic.days) == 30 and traffic.days[-1] == timezone.localdate()
    assert traffic.pushes[-1] == 1 and traffic.pulls[-1] == 3
    assert traffic.pushes[-3] == 1 and traffic.pulls[-3] == 1
    assert sum(traffic.pushes) == 2 and sum(traffic.pulls) == 4
    assert RepositoryDay.objects.filter(repository=repository).count() == 2


def test_a_catalog_syncs_many_pushes_are_counted_in_one_go(repository):
    activities_record_many([activity_build(key="repository.push", target=repository, namespace=repository.namespace,
                                           parameters={"tag": f"t{i}", "sync": True}) for i in range(5)]
                           + [activity_build(key="repository.star", target=repository)])
    assert repository_traffic(repository).pushes[-1] == 5


def test_days_older_than_the_window_are_left_out(repository):
    today = timezone.localdate()
    old = timezone.now() - timedelta(days=30)
    traffic_count(pushes=[(repository.pk, old)], pulls=[(repository.pk, old), (repository.pk, timezone.now())])
    traffic = repository_traffic(repository, today=today)
    assert sum(traffic.pushes) == 0 and traffic.pulls == [0] * 29 + [1]


def test_the_page_draws_the_chart_and_says_it_in_words(client_of, viewer, registry, repository):
    now = timezone.now()
    traffic_count(pushes=[(repository.pk, now)] * 2,
                  pulls=[(repository.pk, now)] * 5 + [(repository.pk, now - timedelta(days=1))])
    html = client_of(viewer).get(f"/repositories/{repository.pk}").content.decode()
    chart = html[html.index('data-chart="repository-traffic"'):html.index("</svg>", html.index("repository-traffic"))]
    assert "qa/app: 2 pushes and 6 pulls in the last 30 days" in chart
    today = timezone.localdate().isoformat()
    assert re.search(rf'<g data-day="{today}">\s*<title>[^<]*: 2 pushes, 5 pulls</title>', chart)
    values = re.findall(r'data-series="(pushes|pulls)" data-value="(\d+)"', chart)
    assert values == [("pulls", "1"), ("pushes", "2"), ("pulls", "5")]
    assert chart.count("<g data-day=") == 30
    assert f'<tr data-day="{today}">' in html  # the figures as a table too
    assert "<script" not in chart and "style=" not in chart


def test_a_repository_without_traffic_says_so(client_of, viewer, repository):
    html = client_of(viewer).get(f"/repositories/{repository.pk}").content.decode()
    assert "0 pushes and 0 pulls in the last 30 days." in html
    assert "Figures per day" not in html


def test_columns_scale_to_the_busiest_day():
    chart = charts.columns(["a", "b", "c"], [charts.CountSeries("x", "x", "red", [0, 2, 4]),
                                             charts.CountSeries("y", "y", "blue", [1, 0, 0])])
    heights = [[bar["height"] for bar in group["bars"]] for group in chart["groups"]]
    full = chart["height"] - 2
    assert heights == [[0, full / 4], [full / 2, 0], [full, 0]]
    assert all(bar["y"] + bar["height"] == chart["height"] for group in chart["groups"] for bar in group["bars"])
    assert chart["peak"] == 4 and chart["marks"] == ["a", "b", "c"]
    assert charts.columns(["a"], [charts.CountSeries("x", "x", "red", [0])])["empty"]


@pytest.mark.django_db(transaction=True)
def test_simultaneous_pulls_lose_no_count(registry, namespace):
    import threading

    from django.db import connection, connections, transaction

    from namespaces.models import Repository

    if connection.vendor != "postgresql":
        pytest.skip("threads sharing the in-memory test database lock whole tables")
    repository = Repository.objects.create(namespace=namespace, name="busy")
    racers, each = 8, 25
    start, errors = threading.Barrier(racers), []

    def racer() -> None:
        try:
            start.wait()
            for _ in range(each):
                with transaction.atomic():
                    traffic_count(pulls=[(repository.pk, timezone.now())])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert sum(RepositoryDay.objects.filter(repository=repository).values_list("pulls", flat=True)) == racers * each
