"""Finding a registry by host name: one bounded copy of the table per process, no memory for misses."""

from __future__ import annotations

import gc
import time
import tracemalloc
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realm.token import forget_registries, registry_for_service
from registries import models as registry_models
from registries.models import Registry

pytestmark = pytest.mark.django_db


def test_every_host_name_finds_its_registry_canonically(registry):
    registry.external_hostname = "registry.example.org"
    registry.save()
    for name in ("registry.test.lan:5000", " REGISTRY.test.lan:5000\t", "Registry.Example.Org "):
        assert registry_for_service(name) == registry
        assert Registry.for_host(name) == registry
    assert registry_for_service("") == registry  # no service named: the oldest registry
    assert registry_for_service("elsewhere:5000") is None
    assert Registry.for_host("x" * 10_000) is None


def test_made_up_services_cost_no_memory_and_no_queries(registry, django_assert_max_num_queries, monkeypatch):
    registry_for_service(registry.hostname)  # the table is read once
    clock = time.monotonic()
    monkeypatch.setattr(registry_models.time, "monotonic", lambda: clock)  # within the miss re-check
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        with django_assert_max_num_queries(0):
            for _ in range(5000):
                assert registry_for_service(f"{uuid.uuid4()}.example:5000") is None
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename")
                if "registries" in str(stat.traceback))
    assert grown < 50_000, f"{grown} bytes kept for 5000 unknown services"


def test_changes_in_this_process_are_seen_at_once(registry):
    assert Registry.for_host("new.example:5000") is None
    registry.hostname = "new.example:5000"
    registry.save()
    assert Registry.for_host("new.example:5000") == registry
    assert Registry.for_host("registry.test.lan:5000") is None
    registry.delete()
    assert Registry.for_host("new.example:5000") is None


def test_changes_made_elsewhere_are_seen_within_the_ttl(registry, monkeypatch):
    clock = [time.monotonic()]
    monkeypatch.setattr(registry_models.time, "monotonic", lambda: clock[0])
    assert Registry.for_host(registry.hostname) == registry
    Registry.objects.filter(pk=registry.pk).update(external_hostname="alias.example:5000")  # another process
    assert Registry.for_host("alias.example:5000") is None  # still the copy read a moment ago
    clock[0] += registry_models.DIRECTORY_TTL_SECONDS + 1
    assert Registry.for_host("alias.example:5000") == registry


def test_a_registry_another_process_just_added_is_found_on_the_next_miss(registry, monkeypatch,
                                                                          django_assert_max_num_queries):
    """An admin adds a registry through one web worker; `docker login` at once lands on another."""
    clock = [time.monotonic()]
    monkeypatch.setattr(registry_models.time, "monotonic", lambda: clock[0])
    assert registry_for_service(registry.hostname) == registry
    Registry.objects.bulk_create([Registry(name="added", hostname="added.example:5000")])  # no signal
    clock[0] += registry_models.MISS_RECHECK_SECONDS + 0.01
    assert registry_for_service("added.example:5000").name == "added"
    # Misses within the re-check interval read nothing: made-up names cannot make every request a query.
    with django_assert_max_num_queries(0):
        for number in range(100):
            assert registry_for_service(f"made-up-{number}.example:5000") is None
    clock[0] += registry_models.MISS_RECHECK_SECONDS + 0.01
    with django_assert_max_num_queries(1):
        for number in range(100):
            assert registry_for_service(f"made-up-{number}.example:5000") is None


def test_the_oldest_registry_wins_an_external_name_another_one_also_claims(registry):
    from registries.services import registry_create

    other = registry_create(name="other", hostname="other.test.lan:5000", use_ssl=False, by=None, check=False,
                            external_hostname="shared.example.org")
    Registry.objects.filter(pk=registry.pk).update(external_hostname="shared.example.org")
    forget_registries()
    assert Registry.for_host("shared.example.org") == registry
    assert Registry.for_host("other.test.lan:5000") == other


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_service_string_answers_quickly_without_error(registry, service):
    found = registry_for_service(service)
    assert found is None or found.pk == registry.pk
