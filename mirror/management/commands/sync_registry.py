"""`manage.py sync_registry`: the catalog sync by hand: prints the plan per repository, then applies it.

The same plan and apply as the background process (mirror/sync.py), under the same per-registry lease,
so a hand run and the background never sync one registry at once. `--dry-run` reads the registry and
prints what a run would do without writing anything (not even the time of the last sync).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mirror import services, sync
from portus.options import option
from registries.models import Registry


class _Progress:
    """A progress bar on stderr: redrawn in place on a terminal, a line every 10% elsewhere."""

    WIDTH = 30

    def __init__(self, stream) -> None:
        self.stream = stream  # a command's OutputWrapper
        self.tty = stream.isatty()
        self.shown: dict[str, int] = {}
        self.last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if total <= 0:
            if self.tty or done % 10000 == 0:
                self._write(f"{phase}: {done} names read", final=False)
            return
        tenth = done * 10 // total
        if self.tty:
            now = time.monotonic()
            if done < total and now - self.last < 0.1:
                return
            self.last = now
            filled = done * self.WIDTH // total
            self._write(f"{phase} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}", final=done == total)
        elif self.shown.get(phase) != tenth:
            self.shown[phase] = tenth
            self._write(f"{phase}: {done}/{total}", final=True)

    def _write(self, text: str, *, final: bool) -> None:
        if self.tty:
            self.stream.write("\r" + text + ("\n" if final else ""), ending="")
        else:
            self.stream.write(text)
        self.stream.flush()


def plan_lines(plan: sync.SyncPlan) -> list[str]:
    """The plan as text: one line per repository with something to do, then the verdict on removals."""
    lines = []
    for repository in plan.repositories:
        parts = [f"+{w.tag}" if w.created else f"~{w.tag}" for w in repository.writes]
        if plan.delete:
            parts += [f"-{tag}" for tag in repository.removed]
        if parts:
            lines.append(f"  {repository.name}{' (new)' if repository.new else ''}: {' '.join(parts)}")
    if plan.delete:
        lines += [f"  {name}: removed ({count} tags)" for name, count in plan.gone]
    tags, repositories = plan.removal_counts()
    added = sum(w.created for r in plan.repositories for w in r.writes)
    changed = sum(not w.created for r in plan.repositories for w in r.writes)
    removal = f"{tags} tags and {repositories} repositories removed" if plan.delete else "nothing removed (update)"
    lines.append(f"plan for {plan.registry.name}: {plan.listed} repositories listed, {added} tags added, "
                 f"{changed} changed, {removal}")
    lines += [f"failed: {failure}" for failure in plan.failures]
    lines += plan.skipped
    if plan.withheld:
        lines.append(plan.withheld)
    return lines


class Command(BaseCommand):
    help = ("Reconcile the browsable copy with a registry's catalog: print the plan (added +, changed ~, "
            "removed - per repository), then apply it. Removals follow the configured strategy and its "
            "safety limits (background.sync).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--registry", default="", help="the registry's name (default: every registry)")
        parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
        parser.add_argument("--strategy", choices=("update", "update-delete"), default="",
                            help="whether to remove what the registry no longer has (default: as configured)")
        parser.add_argument("--max-removal-share", type=float, default=None,
                            help="for this run, the share (0 to 1) of what is known that may be removed "
                                 "(default: background.sync.max_removal_share)")

    def handle(self, *args: Any, **opts: Any) -> None:
        share = opts["max_removal_share"]
        if share is not None and not 0 <= share <= 1:
            raise CommandError("--max-removal-share must be between 0 and 1")
        strategy = opts["strategy"] or option("background.sync.strategy")
        delete = strategy in sync.REMOVING
        registries = Registry.objects.order_by("name")
        if opts["registry"]:
            registries = registries.filter(name=opts["registry"])
            if not registries.exists():
                raise CommandError(f"No registry named {opts['registry']!r}")
        failed = False
        for registry in registries:
            failed |= not self._one(registry, delete=delete, share=share, dry_run=opts["dry_run"])
        if failed:
            raise CommandError("the sync did not complete (see above)")

    def _one(self, registry: Registry, *, delete: bool, share: float | None, dry_run: bool) -> bool:
        progress = _Progress(self.stderr)
        holder = services.process_name()
        lease = f"sync:{registry.pk}"
        if not dry_run and not services.lease_acquire(name=lease, holder=holder, seconds=3600):
            self.stderr.write(f"{registry.name}: another process is syncing it now; try again later")
            return False
        try:
            plan = sync.sync_plan(registry=registry, delete=delete, max_removal_share=share, progress=progress)
            for line in plan_lines(plan):
                self.stdout.write(line)
            if dry_run:
                return not plan.failure_count
            report = sync.sync_apply(plan=plan, progress=progress)
        finally:
            if not dry_run:
                services.lease_release(name=lease, holder=holder)
        self.stdout.write(f"applied to {registry.name}: {report.tags_added} tags added, {report.tags_updated} "
                          f"changed, {report.tags_removed} removed, {report.repositories_removed} repositories "
                          f"removed ({report.outcome})")
        return report.outcome in (sync.Outcome.COMPLETE, sync.Outcome.WITHHELD)
