"""The sync never destroys by surprise: safe default, no removal after a failed read or beyond the share,
the reason on the status page, removals as activities, a plan that is what a run applies, events win."""

from __future__ import annotations

import json
import threading

import pytest
from django.conf import settings

from activities.models import Activity
from mirror import processing, sync, sync_read
from mirror.sync import Outcome, run_sync, sync_apply, sync_plan, sync_registry
from namespaces.models import Repository, Tag
from portus.config import ConfigError, load
from tests.webhooks.fakes import event, image


def tags_here() -> dict[str, str]:
    return {f"{t.repository.full_name}:{t.name}": t.digest
            for t in Tag.objects.select_related("repository__namespace__registry")}


def deliver(client, *events) -> None:
    response = client.post("/v2/webhooks/events", data=json.dumps({"events": list(events)}),
                           content_type="application/vnd.docker.distribution.events.v1+json",
                           HTTP_AUTHORIZATION="Bearer test-webhook-secret")
    assert response.status_code == 202


@pytest.fixture
def many(fake_registry, namespace, registry, options):
    """20 repositories qa/app00…qa/app19 with one tag each, synced; catalog pages of 5."""
    options.set("registry.catalog_page.value", 5)
    options.set("background.sync.removal_floor", 2)
    for i in range(20):
        fake_registry.put(f"qa/app{i:02}", image(f"m{i}"), tag="latest")
    sync_registry(registry=registry, delete=True)
    assert len(tags_here()) == 20
    return fake_registry


def test_the_default_strategy_never_removes(many, registry):
    assert settings.PORTUS["background"]["sync"]["strategy"] == "update"
    many.drop("qa/app00")
    many.untag("qa/app01", "latest")
    assert len(run_sync(holder="t", force=True)) == 1
    assert len(tags_here()) == 20


def test_a_failed_catalog_page_removes_nothing(many, registry):
    many.drop("qa/app19")
    many.failing["last=qa/app09"] = 400  # the third page of five
    report = sync_registry(registry=registry, delete=True)
    assert report.outcome == Outcome.ABORTED and report.applied == []
    assert len(tags_here()) == 20
    registry.refresh_from_db()
    assert registry.last_sync_outcome == "aborted" and "could not be read to its end" in registry.last_sync_summary[
        "withheld"]
    many.failing.clear()
    assert sync_registry(registry=registry, delete=True).applied == [("remove-repository", "qa/app19", "")]


def test_a_catalog_404_is_not_an_empty_catalog(many, registry):
    many.failing["/v2/_catalog"] = 404
    report = sync_registry(registry=registry, delete=True)
    assert report.aborted and len(tags_here()) == 20


def test_a_failed_repository_removes_nothing_elsewhere(many, registry):
    many.drop("qa/app19")
    many.untag("qa/app18", "latest")
    many.put("qa/app00", image("new"), tag="v2")
    many.failing["/v2/qa/app05/tags/list"] = 403
    report = sync_registry(registry=registry, delete=True)
    assert report.outcome == Outcome.INCOMPLETE
    assert report.applied == [("add", "qa/app00", "v2")]  # what was read is added all the same
    assert "qa/app19:latest" in tags_here() and "qa/app18:latest" in tags_here()
    assert "qa/app05" in report.errors[0]


def test_a_failed_manifest_removes_nothing(many, registry):
    many.drop("qa/app19")
    broken = many.put("qa/app03", image("broken"), tag="v2")
    many.corrupt.add(broken.digest)
    report = sync_registry(registry=registry, delete=True)
    assert report.outcome == Outcome.INCOMPLETE and "DigestMismatch" in report.errors[0]
    assert "qa/app19:latest" in tags_here()


def test_over_the_share_nothing_is_removed_and_the_reason_is_kept(many, registry, options):
    options.set("background.sync.max_removal_share", 0.1)
    for i in range(3):  # 3 of 20 (15%), over 10% and over the floor of 2
        many.drop(f"qa/app{i:02}")
    many.put("qa/app10", image("moved"), tag="latest")
    report = sync_registry(registry=registry, delete=True)
    assert report.outcome == Outcome.WITHHELD and report.applied == [("change", "qa/app10", "latest")]
    assert len(tags_here()) == 20
    registry.refresh_from_db()
    assert registry.last_sync_outcome == "removals-withheld"
    assert "would remove 3 of 20 tags" in registry.last_sync_summary["withheld"]
    assert registry.last_sync_summary["tags_changed"] == 1


def test_within_the_share_or_the_floor_removals_happen(many, registry, options):
    options.set("background.sync.max_removal_share", 0.1)
    many.drop("qa/app00")
    many.drop("qa/app01")  # 2 of 20: within 10%
    assert sync_registry(registry=registry, delete=True).outcome == Outcome.COMPLETE
    options.set("background.sync.max_removal_share", 0.0)
    many.drop("qa/app02")
    many.drop("qa/app03")  # 2 of 18: over 0%, but within the floor of 2
    report = sync_registry(registry=registry, delete=True)
    assert report.repositories_removed == 2 and len(tags_here()) == 16


def test_dry_run_plan_is_what_a_real_run_applies(many, registry):
    many.drop("qa/app19")
    many.untag("qa/app18", "latest")
    many.put("qa/app18", image("b"), tag="v2")
    many.put("qa/app17", image("moved"), tag="latest")
    many.put("qa/new", image("n"), tag="1")
    before = tags_here()
    plan = sync_plan(registry=registry, delete=True)
    planned = plan.changes()
    assert planned == [("change", "qa/app17", "latest"), ("add", "qa/app18", "v2"), ("remove", "qa/app18", "latest"),
                       ("add", "qa/new", "1"), ("remove-repository", "qa/app19", "")]
    assert tags_here() == before  # planning writes nothing
    report = sync_apply(plan=plan)
    assert report.applied == planned and report.outcome == Outcome.COMPLETE
    assert sync_plan(registry=registry, delete=True).changes() == []


def test_a_push_event_newer_than_the_sync_look_wins(many, registry, client):
    moved, pushed = image("moved"), image("pushed")
    many.put("qa/app04", moved, tag="latest")
    plan = sync_plan(registry=registry, delete=True)
    assert ("change", "qa/app04", "latest") in plan.changes()
    many.put("qa/app04", pushed, tag="latest")  # pushed after the sync looked, notified, processed
    deliver(client, event("push", "qa/app04", digest=pushed.digest, tag="latest"))
    processing.drain()
    report = sync_apply(plan=plan)
    assert ("change", "qa/app04", "latest") not in report.applied
    assert tags_here()["qa/app04:latest"] == pushed.digest


def test_a_delete_event_after_the_sync_look_is_not_undone(many, registry, client):
    fresh = many.put("qa/app04", image("fresh"), tag="v2")
    plan = sync_plan(registry=registry, delete=True)
    assert ("add", "qa/app04", "v2") in plan.changes()
    many.untag("qa/app04", "v2")
    deliver(client, event("delete", "qa/app04", digest=fresh.digest, tag="v2"))
    processing.drain()
    assert "qa/app04:v2" not in tags_here()
    report = sync_apply(plan=plan)
    assert report.applied == [] and "qa/app04:v2" not in tags_here()


def test_a_pending_event_keeps_the_sync_off_its_repository(many, registry, client):
    many.drop("qa/app07")
    plan = sync_plan(registry=registry, delete=True, max_removal_share=1)
    deliver(client, event("push", "qa/app07", digest=image("again").digest, tag="latest"))  # not processed yet
    assert sync_apply(plan=plan).applied == []
    assert Repository.objects.filter(name="app07").exists()


def test_removals_are_recorded_as_activities(many, registry):
    many.drop("qa/app00")
    many.untag("qa/app01", "latest")
    sync_registry(registry=registry, delete=True)
    from web.templatetags.portus_activity import activity_text

    gone = Activity.objects.get(key="repository.delete")
    untagged = Activity.objects.get(key="tag.delete")
    assert gone.target_name == "qa/app00" and gone.parameters["sync"] is True
    assert untagged.target_name == "qa/app01:latest" and untagged.parameters["sync"] is True
    assert "the catalog sync found it gone from the registry" in activity_text(untagged)


@pytest.mark.django_db(transaction=True)
def test_repositories_are_read_by_several_threads(fake_registry, namespace, registry, options, monkeypatch):
    options.set("background.sync.concurrency", 4)
    for i in range(12):
        fake_registry.put(f"qa/p{i:02}", image(f"p{i}"), tag="latest")
    threads, real = set(), sync_read.read_repository

    def recording(*args, **kwargs):
        threads.add(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(sync_read, "read_repository", recording)
    report = sync_registry(registry=registry, delete=True)
    assert report.outcome == Outcome.COMPLETE and report.tags_added == 12 and len(tags_here()) == 12
    assert len(threads) > 1 and all(name.startswith("portus-sync-read-") for name in threads)


@pytest.mark.parametrize(("name", "value"), [("MAX_REMOVAL_SHARE", "1.5"), ("MAX_REMOVAL_SHARE", "-0.1"),
                                             ("REMOVAL_FLOOR", "-1"), ("CONCURRENCY", "0"), ("CONCURRENCY", "99")])
def test_nonsense_sync_options_are_refused(name, value):
    with pytest.raises(ConfigError, match="background.sync"):
        load(environ={f"PORTUS_BACKGROUND_SYNC_{name}": value})


def test_sync_strategy_constants():
    assert sync.REMOVING == ("update-delete", "on-start")


def test_tag_names_no_registry_may_hold_are_skipped(fake_registry, namespace, registry):
    img = image("odd")
    fake_registry.put("qa/app", img, tag="latest")
    for hostile in ("x" * 129, "-dash", "a..b/c", "sp ace", "é"):
        fake_registry.put("qa/app", img, tag=hostile)
    report = sync_registry(registry=registry, delete=True)
    assert report.outcome == Outcome.COMPLETE and report.applied == [("add", "qa/app", "latest")]
