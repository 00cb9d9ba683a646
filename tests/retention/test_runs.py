"""Runs with the database and a registry in memory: dry = real, safety checks, pause/resume, refusals."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from activities.models import Activity
from namespaces.models import Tag
from retention import runs
from retention.models import Item, Run
from retention.rules import instance_rule
from tests.retention.conftest import d
from web.templatetags.portus_activity import activity_text

pytestmark = pytest.mark.django_db


def _real(namespace=None, by=None):
    return runs.run_create(dry_run=False, namespace=namespace, by=by, holder="test")


def _work(run, **kwargs):
    return runs.run_work(run, holder="test", **kwargs)


def test_a_dry_run_lists_what_the_real_run_then_deletes(seed, namespace_rule, namespace, owner, fake_registry):
    seed({"latest": ("a", 1), "v1": ("a", 90), "v0": ("b", 90), "old": ("c", 90)})
    namespace_rule(older_than_days=30)
    dry = _work(runs.run_create(dry_run=True, namespace=namespace, by=owner, holder="test"))
    planned = sorted((i.repository, tuple(i.tags)) for i in dry.items.filter(action="delete"))
    assert planned == [("qa/app", ("old",)), ("qa/app", ("v0",))]
    assert fake_registry.deleted == []
    real = _work(_real(namespace, owner))
    assert real.status == Run.Status.DONE and (real.done, real.total, real.deleted_count) == (2, 2, 2)
    assert sorted((i.repository, tuple(i.tags)) for i in real.items.filter(status="deleted")) == planned
    assert sorted(fake_registry.holds("qa/app")) == ["latest", "v1"]
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["latest", "v1"]
    deleted = Activity.objects.filter(key="tag.delete").order_by("target_name")
    assert [a.target_name for a in deleted] == ["qa/app:old", "qa/app:v0"]
    assert f"(tag retention run #{real.pk})" in activity_text(deleted[0])
    summary = Activity.objects.get(key="retention.run")
    assert "deleted 2 images (2 tags), kept 2 tags, 0 errors" in activity_text(summary)


def test_a_tag_pushed_onto_a_planned_digest_after_the_plan_saves_it(seed, namespace_rule, namespace, fake_registry):
    repository = seed({"old": ("c", 90)})
    namespace_rule(older_than_days=30)

    def push_after_planning(run):
        if run.done == 0 and not Tag.objects.filter(name="stable").exists():
            Tag.objects.create(repository=repository, name="stable", digest=d("c"))
            fake_registry.push("qa/app", "stable", d("c"))

    run = _work(_real(namespace), progress=push_after_planning)
    item = run.items.get(action="delete")
    assert (item.status, item.note) == ("skipped", "its tags changed since the plan (now: old, stable)")
    assert fake_registry.deleted == [] and run.deleted_count == 0


def test_a_registry_ahead_of_the_mirror_saves_the_repository(seed, namespace_rule, namespace, fake_registry):
    seed({"old": ("c", 90)})
    namespace_rule(older_than_days=30)
    fake_registry.push("qa/app", "pushed-just-now", d("c"))  # its event not processed yet
    run = _work(_real(namespace))
    assert run.items.get(action="delete").note.startswith("the registry lists tags not seen here yet (pushed-just-now)")
    assert fake_registry.deleted == []


def test_a_platform_of_a_kept_index_is_not_deleted(seed, namespace_rule, namespace, fake_registry):
    seed({"multi": ("i", 1), "amd64-old": ("x", 90)}, children={"i": "xy"})
    namespace_rule(older_than_days=30)
    run = _work(_real(namespace))
    assert run.total == 0
    assert run.items.get(tags=["amd64-old"]).reason == "a platform of the kept index tag multi"


def test_pause_then_resume_continues_where_it_stopped(seed, namespace_rule, namespace, fake_registry):
    seed({"a1": ("a", 90), "b1": ("b", 90), "c1": ("c", 90)})
    namespace_rule(older_than_days=30)

    def pause_after_first(run):
        if run.done == 1:
            runs.run_pause(run=run, by=None)

    run = _work(_real(namespace), progress=pause_after_first)
    assert (run.status, run.done, run.total) == (Run.Status.PAUSED, 1, 3)
    assert len(fake_registry.deleted) == 1
    runs.run_resume(run=run, by=None)
    claimed = runs.run_claim(holder="another")
    assert claimed.pk == run.pk
    run = runs.run_work(claimed, holder="another")
    assert (run.status, run.done, run.deleted_count) == (Run.Status.DONE, 3, 3)
    assert len(fake_registry.deleted) == 3
    assert Item.objects.filter(run=run, status="deleted").count() == 3


def test_a_registry_refusing_deletes_fails_the_run_and_tries_nothing_more(seed, namespace_rule, namespace,
                                                                          fake_registry):
    seed({"a1": ("a", 90), "b1": ("b", 90)})
    namespace_rule(older_than_days=30)
    fake_registry.deletes_allowed = False
    run = _work(_real(namespace))
    assert run.status == Run.Status.FAILED and "storage.delete.enabled" in run.error
    assert sorted(run.items.filter(action="delete").values_list("status", flat=True)) == ["error", "skipped"]
    assert Tag.objects.count() == 2


def test_real_runs_need_delete_enabled(namespace, options):
    options.set("delete.enabled", False)
    with pytest.raises(runs.RetentionRefused, match="delete.enabled"):
        runs.run_create(dry_run=False, namespace=namespace, by=None)
    assert runs.run_create(dry_run=True, namespace=namespace, by=None).status == Run.Status.QUEUED


def test_the_instance_rule_starts_from_portus_garbage_collector_options(db, options):
    options.set("delete.garbage_collector.older_than", 45)
    options.set("delete.garbage_collector.keep_latest", 3)
    options.set("delete.garbage_collector.tag", "^pr-")
    rule = instance_rule()
    assert (rule.enabled, rule.older_than_days, rule.keep_latest, rule.include, rule.protect) == (
        False, 45, 3, ["pr-*"], ["latest"])


def test_a_disabled_instance_rule_deletes_nothing(seed, fake_registry):
    seed({"old": ("c", 900)})
    run = _work(_real())
    assert (run.status, run.total, run.repositories) == (Run.Status.DONE, 0, 0)


def test_the_schedule_queues_one_run_per_interval(db, options):
    options.set("delete.enabled", True)
    assert runs.schedule_due() is None  # delete.garbage_collector.enabled is off
    options.set("delete.garbage_collector.enabled", True)
    first = runs.schedule_due()
    assert first is not None and first.trigger == Run.Trigger.SCHEDULE
    assert runs.schedule_due() is None  # one is pending
    Run.objects.filter(pk=first.pk).update(status=Run.Status.DONE)
    assert runs.schedule_due() is None  # not due yet


def test_cancel_skips_what_was_left(seed, namespace_rule, namespace):
    seed({"a1": ("a", 90), "b1": ("b", 90)})
    namespace_rule(older_than_days=30)
    run = _work(_real(namespace), progress=lambda r: r.done == 1 and runs.run_pause(run=r, by=None))
    run = runs.run_cancel(run=run, by=None)
    assert run.status == Run.Status.CANCELLED
    assert run.items.get(status="skipped").note == "the run was cancelled"
    with pytest.raises(runs.RetentionRefused):
        runs.run_resume(run=run, by=None)


def test_the_command_prints_the_report(seed, namespace_rule, capsys):
    seed({"latest": ("a", 1), "v1": ("a", 90), "v0": ("b", 90)})
    namespace_rule(older_than_days=30)
    call_command("retention", "--dry-run", "--namespace", "qa")
    out = capsys.readouterr().out
    assert "Would delete: 1 image(s), 1 tag(s)" in out
    assert "qa/app:v1 (shares its image with the kept tag latest)" in out
    assert Tag.objects.count() == 3
    call_command("retention", "--namespace", "qa")
    assert "Deleted: 1 image(s), 1 tag(s)" in capsys.readouterr().out
    assert Tag.objects.count() == 2


def test_a_run_planned_elsewhere_meanwhile_is_not_planned_twice(seed, namespace_rule, namespace):
    seed({"old": ("c", 90)})
    namespace_rule(older_than_days=30)
    run = _real(namespace)
    Run.objects.filter(pk=run.pk).update(holder="someone-else")  # our lease ran out and was taken
    run = _work(run)
    assert run.items.count() == 0 and run.planned_at is None and run.holder == "someone-else"


def test_old_reports_are_forgotten(namespace):
    from datetime import timedelta

    from django.utils import timezone

    run = runs.run_create(dry_run=True, namespace=namespace, by=None)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE, finished_at=timezone.now() - timedelta(days=91))
    recent = runs.run_create(dry_run=True, namespace=namespace, by=None)
    assert runs.runs_prune() == 1
    assert list(Run.objects.values_list("pk", flat=True)) == [recent.pk]
