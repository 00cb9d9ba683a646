"""`manage.py sync_registry`: prints the plan with progress, applies it unless --dry-run, shares the lease."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mirror.services import lease_acquire
from namespaces.models import Repository, Tag
from tests.webhooks.fakes import image


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("sync_registry", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def filled(fake_registry, namespace, registry):
    fake_registry.put("qa/app", image("one"), tag="latest")
    fake_registry.put("qa/app", image("two"), tag="v2")
    fake_registry.put("busybox", image("bb"), tag="1.36")
    return fake_registry


def test_dry_run_prints_the_plan_and_changes_nothing(filled, registry):
    out, err = run("--registry", "main", "--dry-run")
    assert "  qa/app (new): +latest +v2" in out and "  busybox (new): +1.36" in out
    assert "plan for main: 2 repositories listed, 3 tags added, 0 changed, nothing removed (update)" in out
    assert "repositories: 2/2" in err  # the progress, on stderr
    assert not Tag.objects.exists()
    registry.refresh_from_db()
    assert registry.last_sync_at is None


def test_a_run_applies_the_plan_it_printed(filled, registry):
    out, _ = run("--registry", "main")
    assert "applied to main: 3 tags added, 0 changed, 0 removed, 0 repositories removed (complete)" in out
    assert Tag.objects.count() == 3
    filled.drop("busybox")
    filled.untag("qa/app", "v2")
    out, _ = run("--strategy", "update-delete", "--dry-run")
    assert "  qa/app: -v2" in out and "  busybox: removed (1 tags)" in out
    assert Tag.objects.count() == 3
    run("--strategy", "update-delete")
    assert list(Tag.objects.values_list("name", flat=True)) == ["latest"]
    assert not Repository.objects.filter(name="busybox").exists()


def test_a_big_removal_needs_the_share_raised_for_that_run(filled, registry, options):
    options.set("background.sync.removal_floor", 0)
    run()
    filled.drop("busybox")
    out, _ = run("--strategy", "update-delete")
    assert "nothing removed: the run would remove 1 of 3 tags" in out and "--max-removal-share 1" in out
    assert Repository.objects.filter(name="busybox").exists()
    run("--strategy", "update-delete", "--max-removal-share", "1")
    assert not Repository.objects.filter(name="busybox").exists()


def test_a_failed_run_exits_with_an_error(filled, registry):
    filled.failing["/v2/qa/app/tags/list"] = 403
    with pytest.raises(CommandError, match="did not complete"):
        run()
    assert Tag.objects.count() == 1  # busybox was read and added


def test_refusals(filled, registry):
    with pytest.raises(CommandError, match="No registry named"):
        run("--registry", "nope")
    with pytest.raises(CommandError, match="between 0 and 1"):
        run("--max-removal-share", "2")
    assert lease_acquire(name=f"sync:{registry.pk}", holder="background", seconds=600)
    with pytest.raises(CommandError):
        run()
    assert not Tag.objects.exists()
