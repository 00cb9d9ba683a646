"""/metrics of the real stack (gunicorn with two workers, multiprocess mode) moves with a real push:
the token requests of skopeo, the registry's notification, the event processed into the inbox's counts."""

from __future__ import annotations

import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_registry_clients import push

pytestmark = pytest.mark.e2e


def scrape(stack) -> dict[tuple[str, tuple], float]:
    response = requests.get(f"{stack.web_url}/metrics", timeout=10, headers={"Connection": "close"})
    assert response.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_real_push_moves_the_counters(stack, images):
    before = scrape(stack)
    # every scrape, whichever worker answers it, shows the same sums
    assert all(value(scrape(stack), "portus_token_request_seconds_count", outcome="granted")
               == value(before, "portus_token_request_seconds_count", outcome="granted") for _ in range(4))
    image = images.single(tag="metrics")
    assert push(stack, image, "qa/metrics:v1", "contributor").returncode == 0
    stack.wait_for_tag("qa/metrics", "v1", image.digest)
    deadline = time.monotonic() + 30
    while True:
        after = scrape(stack)
        done = value(after, "portus_inbox_events", status="done") > value(before, "portus_inbox_events", status="done")
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    granted = "portus_token_request_seconds_count"
    assert value(after, granted, outcome="granted") > value(before, granted, outcome="granted")
    assert value(after, "portus_events_received_total") > value(before, "portus_events_received_total")
    assert done
    assert value(after, "portus_inbox_oldest_pending_seconds") < 30
