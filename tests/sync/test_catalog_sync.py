"""The catalog sync: adds what is missing, removes what the registry no longer has, follows pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mirror.services import lease_acquire
from mirror.sync import run_sync, sync_registry
from namespaces import tags as tag_services
from namespaces.models import Namespace, Repository, Tag
from registries.models import Registry
from tests.webhooks.fakes import image, index


def tags_here() -> dict[str, str]:
    return {f"{t.repository.full_name}:{t.name}": t.digest
            for t in Tag.objects.select_related("repository__namespace__registry")}


@pytest.fixture
def filled(fake_registry, namespace):
    """A registry holding qa/app (two tags), qa/multi (an index), busybox (global) and ghost/tool."""
    one, two = image("one"), image("two")
    fake_registry.put("qa/app", one, tag="latest")
    fake_registry.put("qa/app", two, tag="v2")
    multi = fake_registry.put("qa/multi", index("m", [("linux", "amd64", ""), ("linux", "arm", "v7")]), tag="1")
    busybox = fake_registry.put("busybox", image("bb"), tag="1.36")
    tool = fake_registry.put("ghost/tool", image("tool"), tag="edge")
    return {"one": one, "two": two, "multi": multi, "busybox": busybox, "tool": tool}


def test_update_adds_what_is_missing(filled, registry):
    report = sync_registry(registry=registry, delete=False)
    assert tags_here() == {
        "qa/app:latest": filled["one"].digest, "qa/app:v2": filled["two"].digest,
        "qa/multi:1": filled["multi"].digest, "busybox:1.36": filled["busybox"].digest,
        "ghost/tool:edge": filled["tool"].digest,
    }
    assert (report.tags_added, report.repositories_added, report.errors) == (5, 4, [])
    app = Repository.objects.get(name="app")
    assert app.tags_count == 2 and app.pushed_at is not None
    multi = Tag.objects.get(repository__name="multi")
    assert [p["architecture"] for p in multi.platforms] == ["amd64", "arm"] and multi.size == filled["multi"].size
    assert Tag.objects.get(name="latest").size == filled["one"].size
    ghost = Namespace.objects.get(name="ghost")
    assert ghost.team.hidden  # nobody pushed it here knowingly: admins only
    registry.refresh_from_db()
    assert registry.last_sync_at is not None and registry.last_sync_error == ""


def test_a_second_sync_reads_no_manifest_again(filled, registry, fake_registry):
    sync_registry(registry=registry, delete=True)
    before = len(fake_registry.fetches())
    report = sync_registry(registry=registry, delete=True)
    assert len(fake_registry.fetches()) == before
    assert (report.tags_added, report.tags_updated, report.tags_removed, report.repositories_removed) == (0, 0, 0, 0)


def test_update_repoints_moved_tags(filled, registry, fake_registry):
    sync_registry(registry=registry, delete=False)
    fake_registry.put("qa/app", filled["two"], tag="latest")
    report = sync_registry(registry=registry, delete=False)
    assert report.tags_updated == 1
    assert Tag.objects.get(repository__name="app", name="latest").digest == filled["two"].digest


def test_update_keeps_what_the_registry_no_longer_has(filled, registry, fake_registry):
    sync_registry(registry=registry, delete=False)
    fake_registry.untag("qa/app", "v2")
    fake_registry.drop("busybox")
    sync_registry(registry=registry, delete=False)
    assert "qa/app:v2" in tags_here() and "busybox:1.36" in tags_here()


def test_update_delete_removes_tags_and_repositories(filled, registry, fake_registry):
    sync_registry(registry=registry, delete=True)
    fake_registry.untag("qa/app", "v2")
    fake_registry.drop("busybox")
    report = sync_registry(registry=registry, delete=True)
    assert (report.tags_removed, report.repositories_removed) == (1, 1)
    assert "qa/app:v2" not in tags_here()
    assert not Repository.objects.filter(name="busybox").exists()
    assert Repository.objects.get(name="app").tags_count == 1


def test_catalog_pages_are_followed(fake_registry, registry, namespace, options):
    options.set("registry.catalog_page.value", 2)
    for i in range(5):
        fake_registry.put(f"qa/app{i}", image(f"p{i}"), tag="latest")
    sync_registry(registry=registry, delete=True)
    assert Repository.objects.filter(namespace=namespace).count() == 5
    assert len(fake_registry.fetches(part="/v2/_catalog")) == 3


def test_registry_down_records_the_error_and_removes_nothing(filled, registry, fake_registry):
    sync_registry(registry=registry, delete=True)
    fake_registry.down = True
    report = sync_registry(registry=registry, delete=True)
    assert report.aborted
    registry.refresh_from_db()
    assert "RegistryUnavailable" in registry.last_sync_error
    assert len(tags_here()) == 5


def test_sync_does_not_override_a_row_written_after_it_looked(filled, registry):
    looked_at = timezone.now() - timedelta(minutes=1)
    tag_services.tag_apply_push(registry=registry, repository_name="qa/app", tag="latest",
                                digest=filled["two"].digest, media_type="", image_id="", size=1, platforms=[],
                                author=None, event_time=timezone.now())
    change = tag_services.tag_sync_set(registry=registry, repository_name="qa/app", tag="latest",
                                       digest=filled["one"].digest, media_type="", image_id="", size=1,
                                       platforms=[], observed_at=looked_at)
    assert not change.applied
    assert tag_services.tags_sync_remove(registry=registry, repository_name="qa/app", names={"latest"},
                                         observed_at=looked_at) == []


def test_any_event_wins_over_what_the_sync_wrote(filled, registry):
    sync_registry(registry=registry, delete=False)
    tag = Tag.objects.get(repository__name="app", name="latest")
    assert tag.event_time is None
    change = tag_services.tag_apply_push(
        registry=registry, repository_name="qa/app", tag="latest", digest=filled["two"].digest, media_type="",
        image_id="", size=1, platforms=[], author=None, event_time=timezone.now() - timedelta(days=1))
    assert change.applied


def test_strategy_initial_only_fills_an_empty_registry(filled, registry, fake_registry):
    assert len(run_sync(strategy="initial", holder="test")) == 1
    fake_registry.put("qa/late", image("late"), tag="latest")
    assert run_sync(strategy="initial", holder="test", force=True) == []
    assert not Repository.objects.filter(name="late").exists()


def test_run_sync_waits_for_the_interval_unless_forced(filled, registry):
    assert len(run_sync(strategy="update", holder="a", interval_seconds=600)) == 1
    assert run_sync(strategy="update", holder="b", interval_seconds=600) == []
    assert len(run_sync(strategy="update", holder="b", interval_seconds=600, force=True)) == 1


def test_one_process_at_a_time_per_registry(filled, registry):
    assert lease_acquire(name=f"sync:{registry.pk}", holder="other", seconds=600)
    assert run_sync(strategy="update-delete", holder="me", force=True) == []
    assert not Tag.objects.exists()


def test_on_start_removes_too(filled, registry, fake_registry):
    run_sync(strategy="on-start", holder="t", force=True)
    fake_registry.drop("busybox")
    run_sync(strategy="on-start", holder="t", force=True)
    assert not Repository.objects.filter(name="busybox").exists()


def test_unknown_strategy_is_refused(registry):
    with pytest.raises(ValueError):
        run_sync(strategy="sometimes", holder="t")


def test_registries_are_synced_independently(filled, registry):
    Registry.objects.create(name="other", hostname="127.0.0.1:9", use_ssl=False)
    reports = run_sync(strategy="update", holder="t", force=True)
    assert [r.aborted for r in reports] == [False, True]
    assert len(tags_here()) == 5
