"""Prometheus metrics: every series the product exports, defined here once, and how /metrics renders them.

Processes. Under gunicorn each worker counts on its own; with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf
sets it, scripts/run too) every process writes its counts to files there and /metrics sums them, so a
scrape answered by any worker shows the whole server. A background process on the same host with the same
directory is summed in as well; one elsewhere serves its own (`portus_background --metrics-port`). What
the database knows (the inbox's depth and oldest pending event, each registry's last sync) is read at
scrape time by the process answering, so it is right whatever the topology.

Other parts only call the small functions below (or `.labels(...).inc()` on a series defined here): a
new series is added here, with its help text, so that the list of what is exported stays in one file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import REGISTRY, Collector

__all__ = ["CONTENT_TYPE_LATEST", "render"]

# Latency buckets for the token realm: a cached login answers in a millisecond or two, a password check
# that misses the cache takes a few hundred.
_FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_SLOW_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

TOKEN_OUTCOMES = ("granted", "unauthorized", "rate_limited", "bad_request", "unsupported", "error")
TOKEN_SECONDS = Histogram(
    "portus_token_request_seconds",
    "Time to answer /v2/token, by outcome (its _count is the number of token requests by outcome).",
    ["outcome"], buckets=_FAST_BUCKETS)
EVENTS_RECEIVED = Counter("portus_events_received_total",
                          "Registry notification events stored in the inbox.")
EVENTS_PROCESSED = Counter("portus_events_processed_total",
                           "Registry events processed by the background, by the status they ended in.", ["status"])
EVENT_PROCESSING_SECONDS = Histogram("portus_event_processing_seconds",
                                     "Time a background process spent on one event (registry reads included).",
                                     buckets=_FAST_BUCKETS)
EVENT_LAG_SECONDS = Histogram("portus_event_lag_seconds",
                              "From an event's arrival in the inbox to its outcome (done, ignored, failed…).",
                              buckets=_SLOW_BUCKETS)
SYNC_RUNS = Counter("portus_sync_runs_total", "Catalog syncs run, by registry and outcome.", ["registry", "outcome"])
SYNC_SECONDS = Histogram("portus_sync_seconds", "Duration of a catalog sync (read and apply).", ["registry"],
                         buckets=_SLOW_BUCKETS)
RETENTION_RUNS = Counter("portus_retention_runs_total", "Tag retention runs, by outcome.", ["outcome"])
WEBHOOK_DELIVERIES = Counter("portus_webhook_deliveries_total",
                             "Outbound webhook delivery attempts, by outcome.", ["outcome"])

# The token view's children, resolved once: the hot path then costs one observe.
_token_children = {outcome: TOKEN_SECONDS.labels(outcome) for outcome in TOKEN_OUTCOMES}


def token_request(outcome: str, seconds: float) -> None:
    """One answer of the token realm (`outcome` one of TOKEN_OUTCOMES)."""
    child = _token_children.get(outcome) or _token_children["error"]
    child.observe(seconds)


def token_outcome(status: int) -> str:
    """The outcome label for a token answer's HTTP status."""
    if status == 200:
        return "granted"
    return {401: "unauthorized", 429: "rate_limited", 400: "bad_request", 413: "bad_request",
            404: "unsupported"}.get(status, "error")


def events_received(count: int) -> None:
    if count:
        EVENTS_RECEIVED.inc(count)


def event_processed(*, status: str, seconds: float, lag_seconds: float | None) -> None:
    """An event's outcome: how long it took in hand, and since it arrived."""
    EVENTS_PROCESSED.labels(status).inc()
    EVENT_PROCESSING_SECONDS.observe(max(seconds, 0.0))
    if lag_seconds is not None:
        EVENT_LAG_SECONDS.observe(max(lag_seconds, 0.0))


def sync_run(*, registry: str, outcome: str, seconds: float) -> None:
    SYNC_RUNS.labels(registry[:100], outcome).inc()
    SYNC_SECONDS.labels(registry[:100]).observe(max(seconds, 0.0))


def retention_run(*, outcome: str) -> None:
    """One tag retention run ended (`outcome`: e.g. complete, failed, paused)."""
    RETENTION_RUNS.labels(outcome[:40]).inc()


def webhook_delivery(*, outcome: str) -> None:
    """One outbound webhook delivery attempt (`outcome`: e.g. delivered, failed, refused)."""
    WEBHOOK_DELIVERIES.labels(outcome[:40]).inc()


class DatabaseCollector(Collector):
    """What the database says at scrape time: the inbox, its oldest due event, the registries' syncs."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db import DatabaseError

        try:
            yield from self._collect()
        except DatabaseError:
            return  # the health check says the database is down; the process counters still render

    def _collect(self) -> Iterator[GaugeMetricFamily]:
        from mirror.services import inbox_backlog_age, inbox_counts
        from registries.models import Registry

        depth = GaugeMetricFamily("portus_inbox_events", "Registry events in the inbox, by status.",
                                  labels=["status"])
        for status, count in inbox_counts().items():
            if status != "attention":
                depth.add_metric([status], count)
        yield depth
        age = inbox_backlog_age()
        yield GaugeMetricFamily("portus_inbox_oldest_pending_seconds",
                                "Age of the oldest event due for processing (0 when none waits).",
                                value=age.total_seconds() if age is not None else 0.0)
        last = GaugeMetricFamily("portus_sync_last_run_timestamp_seconds",
                                 "When each registry's catalog was last synced (Unix time).", labels=["registry"])
        for name, at in Registry.objects.order_by("name").values_list("name", "last_sync_at")[:1000]:
            if at is not None:
                last.add_metric([name[:100]], at.timestamp())
        yield last


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def process_registry(*, path: str | None = None) -> CollectorRegistry:
    """Every process's counters summed over PROMETHEUS_MULTIPROC_DIR (or `path`) when set, else this
    process's own, in a registry made for one scrape."""
    directory = multiprocess_dir() if path is None else path
    registry = CollectorRegistry(auto_describe=False)
    if directory:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_ThisProcess())
    return registry


def render(*, path: str | None = None, database: bool = True) -> bytes:
    """The text exposition of the counters (`process_registry`) plus, with `database`, what the
    database says now."""
    registry = process_registry(path=path)
    if database:
        registry.register(DatabaseCollector())
    return generate_latest(registry)


class _ThisProcess(Collector):
    """This process's own series (no multiprocess directory), inside a registry made for one scrape."""

    def collect(self):
        return REGISTRY.collect()
