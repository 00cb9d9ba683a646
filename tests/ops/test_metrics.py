"""/metrics: Prometheus text that its own parser reads, counters that move with token requests and with a
processed push, the database's gauges, an optional bearer token, and counts summed over processes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from mirror import processing
from portus import metrics
from tests.webhooks.fakes import event, image

ROOT = Path(__file__).resolve().parents[2]


def scrape(client: Client | None = None, **headers) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) → value, read with prometheus_client's own parser."""
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_token_requests_are_counted_by_outcome(db, registry, admin):
    before = scrape()
    client = Client()
    assert client.get("/v2/token", {"service": registry.hostname}).status_code == 200
    assert client.get("/v2/token", {"service": registry.hostname},
                      HTTP_AUTHORIZATION=basic("admin", "wrong password")).status_code == 401
    assert client.get("/v2/token", {"service": registry.hostname}, HTTP_AUTHORIZATION="Basic !!").status_code == 401
    assert client.delete("/v2/token").status_code == 404
    after = scrape()
    count = "portus_token_request_seconds_count"
    assert value(after, count, outcome="granted") - value(before, count, outcome="granted") == 1
    assert value(after, count, outcome="unauthorized") - value(before, count, outcome="unauthorized") == 2
    assert value(after, count, outcome="unsupported") - value(before, count, outcome="unsupported") == 1
    bucket = "portus_token_request_seconds_bucket"
    assert value(after, bucket, outcome="granted", le="+Inf") - value(before, bucket, outcome="granted",
                                                                      le="+Inf") == 1


def test_a_processed_push_moves_the_event_counters(fake_registry, registry, namespace):
    img = fake_registry.put("qa/app", image("pushed"), tag="latest")
    before = scrape()
    body = {"events": [event("push", "qa/app", digest=img.digest, tag="latest")]}
    response = Client().post("/v2/webhooks/events", data=json.dumps(body),
                             content_type="application/vnd.docker.distribution.events.v1+json",
                             HTTP_AUTHORIZATION="Bearer test-webhook-secret")
    assert response.status_code == 202
    waiting = scrape()
    assert value(waiting, "portus_events_received_total") - value(before, "portus_events_received_total") == 1
    assert value(waiting, "portus_inbox_events", status="pending") == 1
    assert value(waiting, "portus_inbox_oldest_pending_seconds") >= 0
    assert processing.drain() == 1
    after = scrape()
    processed = "portus_events_processed_total"
    assert value(after, processed, status="done") - value(before, processed, status="done") == 1
    for histogram in ("portus_event_processing_seconds_count", "portus_event_lag_seconds_count"):
        assert value(after, histogram) - value(before, histogram) == 1
    assert value(after, "portus_inbox_events", status="pending") == 0
    assert value(after, "portus_inbox_events", status="done") == 1
    assert value(after, "portus_inbox_oldest_pending_seconds") == 0


def test_sync_runs_are_counted_with_their_outcome(fake_registry, registry, namespace):
    from mirror.sync import sync_registry

    fake_registry.put("qa/app", image("one"), tag="latest")
    before = scrape()
    sync_registry(registry=registry, delete=False)
    after = scrape()
    runs = "portus_sync_runs_total"
    assert value(after, runs, registry="main", outcome="complete") - value(
        before, runs, registry="main", outcome="complete") == 1
    registry.refresh_from_db()
    assert value(after, "portus_sync_last_run_timestamp_seconds", registry="main") == pytest.approx(
        registry.last_sync_at.timestamp())


def test_the_helpers_for_retention_and_webhooks_count(db):
    before = scrape()
    metrics.retention_run(outcome="complete")
    metrics.webhook_delivery(outcome="delivered")
    metrics.webhook_delivery(outcome="failed")
    after = scrape()
    assert value(after, "portus_retention_runs_total", outcome="complete") - value(
        before, "portus_retention_runs_total", outcome="complete") == 1
    for outcome in ("delivered", "failed"):
        assert value(after, "portus_webhook_deliveries_total", outcome=outcome) - value(
            before, "portus_webhook_deliveries_total", outcome=outcome) == 1


class TestBearerToken:
    @pytest.fixture(autouse=True)
    def _token(self, options, db):
        options.set("metrics.token", "s3cret-metrics-token")

    def test_without_the_token_it_is_refused(self):
        response = Client().get("/metrics")
        assert response.status_code == 401 and response["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"portus_" not in response.content

    @pytest.mark.parametrize("header", ["Bearer wrong", "Bearer s3cret-metrics-toke", "Basic s3cret-metrics-token",
                                        "Bearer s3cret-metrics-token-and-more", "Bearer ", "s3cret-metrics-token",
                                        "Bearer \udcff"])
    def test_a_wrong_token_is_refused(self, header):
        assert Client().get("/metrics", HTTP_AUTHORIZATION=header).status_code == 401

    def test_the_token_opens_it(self):
        samples = scrape(HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
        assert any(name.startswith("portus_token_request_seconds") for name, _ in samples)


def test_metrics_can_be_turned_off(db, options):
    options.set("metrics.enabled", False)
    assert Client().get("/metrics").status_code == 404


def test_only_get_and_head(db):
    assert Client().post("/metrics").status_code == 405


def test_hostile_tokens_never_crash_it(db, options):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    options.set("metrics.token", "right")

    @settings(max_examples=60, deadline=None)
    @given(st.text(max_size=600))
    def probe(presented):
        header = f"Bearer {presented}".encode("utf-8", "surrogatepass").decode("latin-1")
        assert Client().get("/metrics", HTTP_AUTHORIZATION=header).status_code in (200, 401)

    probe()


_COUNT_IN_A_PROCESS = """
import sys
from portus import metrics
for _ in range(int(sys.argv[1])):
    metrics.token_request("granted", 0.002)
metrics.events_received(int(sys.argv[1]))
metrics.event_processed(status="done", seconds=0.01, lag_seconds=1.0)
"""


def test_counts_of_several_processes_are_summed(tmp_path, db):
    """What gunicorn's workers do under PROMETHEUS_MULTIPROC_DIR: each writes its own file, /metrics sums."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for count in (3, 5):
        subprocess.run([sys.executable, "-c", _COUNT_IN_A_PROCESS, str(count)], cwd=ROOT, env=env, check=True,
                       timeout=120)
    assert len(list(tmp_path.glob("histogram_*.db"))) == 2  # one file per process
    text = metrics.render(path=str(tmp_path), database=False).decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert value(samples, "portus_token_request_seconds_count", outcome="granted") == 8
    assert value(samples, "portus_token_request_seconds_bucket", outcome="granted", le="0.0025") == 8
    assert value(samples, "portus_events_received_total") == 8
    assert value(samples, "portus_events_processed_total", status="done") == 2


def test_gunicorn_marks_an_exited_worker_dead(tmp_path, monkeypatch):
    """child_exit in gunicorn.conf: the dead worker's live-gauge files are dropped, its counters kept."""
    import runpy

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    conf = runpy.run_path(str(ROOT / "portus" / "gunicorn.conf.py"))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")

    class Worker:
        pid = 4242

    conf["child_exit"](None, Worker())
    assert not (tmp_path / "gauge_livesum_4242.db").exists() and (tmp_path / "counter_4242.db").exists()
    conf["on_starting"](None)  # a restart: files of processes that are gone are not counted again
    assert not (tmp_path / "counter_4242.db").exists()
    (tmp_path / f"counter_{os.getpid()}.db").write_bytes(b"")
    conf["on_starting"](None)
    assert (tmp_path / f"counter_{os.getpid()}.db").exists()  # a live process's (the background's) stays
