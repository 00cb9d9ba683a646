"""`manage.py retention [--dry-run] [--namespace NAME]`: plans a tag retention run, prints its report, and
(without --dry-run) deletes exactly what it printed, in the foreground, with a progress figure."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from namespaces.models import Namespace
from retention import runs
from retention.models import Run


class Command(BaseCommand):
    help = ("Apply the tag retention rules now: list what goes and why everything else stays (--dry-run), or "
            "delete it through the registry API. The same plan the background's scheduled runs make.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="plan and print only; delete nothing")
        parser.add_argument("--namespace", help="only this namespace (by name; '' is not accepted)")
        parser.add_argument("--registry", help="the registry of --namespace, when there are several")
        parser.add_argument("--kept", type=int, default=50, help="kept tags listed in the report (default 50)")

    def _namespace(self, name: str | None, registry: str | None) -> Namespace | None:
        if name is None:
            return None
        found = Namespace.objects.select_related("registry").filter(name=name, is_global=False)
        if registry:
            found = found.filter(registry__name=registry)
        matches = list(found[:2])
        if not matches:
            raise CommandError(f"no namespace {name!r}" + (f" in registry {registry!r}" if registry else ""))
        if len(matches) > 1:
            raise CommandError(f"several registries have a namespace {name!r}: say which with --registry")
        return matches[0]

    def handle(self, *args: Any, **opts: Any) -> None:
        namespace = self._namespace(opts["namespace"], opts["registry"])
        holder = "command:" + runs.holder_name()
        try:
            run = runs.run_create(dry_run=opts["dry_run"], namespace=namespace, by=None, trigger=Run.Trigger.COMMAND,
                                  holder=holder)
        except runs.RetentionRefused as exc:
            raise CommandError(str(exc)) from exc

        def progress(current: Run) -> None:
            if current.total and not current.dry_run:
                sys.stderr.write(f"\r{current.done} of {current.total} images handled")
                sys.stderr.flush()

        run = runs.run_work(run, holder=holder, progress=progress)
        if run.total and not run.dry_run:
            sys.stderr.write("\n")
        self.stdout.write(runs.report_text(run, kept_limit=max(0, opts["kept"])))
        if run.status == Run.Status.FAILED:
            raise CommandError(run.error or "the run failed")
