"""Reconciling the browsable copy with the registry's catalog (`background.sync.strategy`).

Strategies:
- `initial`: only for a registry with no repository here yet (a fresh install next to a full registry);
- `update` (the default): add what is missing and repoint tags that moved, never remove;
- `update-delete`: also remove tags and repositories the registry no longer has;
- `on-start`: `update-delete` once when the background process starts, then nothing.
Events remain the main way changes arrive; the sync repairs what events missed.

A run is a plan, then its application (`sync_plan`, `sync_apply`; `manage.py sync_registry --dry-run`
shows the plan only). The background's runs (`sync_registry`) write a plan's additions while it is still
being read, a batch as soon as its reads are in (`StreamedWrites`): the writing then overlaps the
registry's answering. Removals wait for the whole plan, as they depend on every read of it.

Removals never happen by surprise (Portus forgot every repository after one 404, #663, and all images
over a weekend, #1599): a run removes nothing when any read of it failed (a catalog page, a
repository's tags, a manifest), nor when it would remove more than
`background.sync.max_removal_share` of the tags or of the repositories known here (up to
`background.sync.removal_floor` removals are always allowed). It then says why on the status page, and
adds and repoints all the same. Each removal is recorded as an activity with `sync: true`.

What it writes never overrides a newer event: a row written after the sync looked stays, and so does
everything about a repository the registry sent an event on after the sync looked (namespaces/tags.py
explains the clocks). `last_sync_at` is the last attempt (so a registry that is down is not hammered),
`last_sync_error` what went wrong in it ('' when nothing), `last_sync_outcome` and `last_sync_summary`
how it ended and what it did. A dry run records nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError
from django.db.models import Max
from django.utils import timezone

from mirror.models import Event
from mirror.sync_read import RepositoryRead, read_repositories
from namespaces import sync_writes
from namespaces import tags as tag_services
from namespaces.models import Repository, Tag
from portus import metrics
from portus.options import option
from registries.client import RegistryClient, RegistryError, RegistryUnavailable
from registries.models import Registry

log = logging.getLogger(__name__)

STRATEGIES = ("initial", "update", "update-delete", "on-start")
REMOVING = ("update-delete", "on-start")
_MAX_ERRORS_KEPT = 20
_SAMPLE = 10  # changes and unnotified tags kept with the outcome, for the status page
Progress = Callable[[str, int, int], None]  # (phase, done, total)


class Outcome:
    COMPLETE = "complete"  # everything read and applied
    WITHHELD = "removals-withheld"  # everything read; the removals were over the share and not applied
    INCOMPLETE = "incomplete"  # some reads failed: what was read was added, nothing removed
    ABORTED = "aborted"  # the catalog could not be read (or the process stopped): nothing removed


@dataclass
class SyncPlan:
    """What a run would do. `changes()` lists it; `sync_apply` returns the same list for what it did."""

    registry: Registry
    delete: bool
    catalog_read_at: datetime
    repositories: list[RepositoryRead] = field(default_factory=list)
    gone: list[tuple[str, int]] = field(default_factory=list)  # known here, not listed: (name, its tags)
    known_repositories: int = 0
    known_tags: int = 0
    listed: int = 0
    failures: list[str] = field(default_factory=list)
    failure_count: int = 0
    skipped: list[str] = field(default_factory=list)
    aborted: bool = False
    withheld: str = ""  # why the removals are not applied ('' when they are, or none are asked)

    def fail(self, message: str) -> None:
        log.warning("sync of %s: %s", self.registry.name, message)
        self.failure_count += 1
        if len(self.failures) < _MAX_ERRORS_KEPT:
            self.failures.append(message)

    @property
    def removes(self) -> bool:
        return self.delete and not self.withheld

    def changes(self) -> list[tuple[str, str, str]]:
        """(kind, repository, tag) in the order a run applies them; kinds: add, change, remove,
        remove-repository. Removals only when they would be applied."""
        out = []
        for repository in self.repositories:
            out += [("add" if w.created else "change", repository.name, w.tag) for w in repository.writes]
            if self.removes:
                out += [("remove", repository.name, tag) for tag in repository.removed]
        if self.removes:
            out += [("remove-repository", name, "") for name, _ in self.gone]
        return out

    def removal_counts(self) -> tuple[int, int]:
        """(tags, repositories) the run would remove, whether or not it may."""
        tags = sum(len(r.removed) for r in self.repositories) + sum(count for _, count in self.gone)
        return tags, len(self.gone)


@dataclass
class SyncReport:
    registry: str
    repositories_added: int = 0
    repositories_removed: int = 0
    tags_added: int = 0
    tags_updated: int = 0
    tags_removed: int = 0
    errors: list[str] = field(default_factory=list)
    aborted: bool = False
    withheld: str = ""
    outcome: str = ""
    applied: list[tuple[str, str, str]] = field(default_factory=list)
    # Tags added or repointed that no event of the registry ever named: pushes it saw but did not notify
    # (or made before Portus was wired to it). The status page's hint about `notifications` reads it.
    unnotified: int = 0
    unnotified_sample: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict:
        return {"repositories_added": self.repositories_added, "tags_added": self.tags_added,
                "tags_changed": self.tags_updated, "tags_removed": self.tags_removed,
                "repositories_removed": self.repositories_removed, "withheld": self.withheld,
                "errors": len(self.errors), "unnotified": self.unnotified,
                "unnotified_sample": self.unnotified_sample, "seconds": round(self.seconds, 1),
                "changes_sample": [list(change) for change in self.applied[:_SAMPLE]]}


def _is_name(name: str) -> bool:
    from mirror.inbox import is_repository_name

    return is_repository_name(name)


def _known(registry: Registry) -> dict[str, dict[str, str]]:
    """Repository full name → tag → digest, for everything known here about the registry."""
    known: dict[str, dict[str, str]] = {}
    for repository in Repository.objects.filter(namespace__registry=registry).select_related("namespace"):
        known[repository.full_name] = {}
    rows = Tag.objects.filter(repository__namespace__registry=registry).values_list(
        "repository__namespace__name", "repository__namespace__is_global", "repository__name", "name", "digest")
    for namespace, is_global, name, tag, digest in rows.iterator(chunk_size=2000):
        known.setdefault(name if is_global else f"{namespace}/{name}", {})[tag] = digest
    return known


def _judge_removals(plan: SyncPlan, *, max_share: float, floor: int) -> str:
    """Why the run may not remove anything ('' when it may)."""
    if not plan.delete:
        return ""
    if plan.aborted or plan.failure_count:
        what = "the catalog could not be read to its end" if plan.aborted else f"{plan.failure_count} read(s) failed"
        return f"nothing removed: {what} in this run, so what looks gone may only be unread"
    tags, repositories = plan.removal_counts()
    for count, known, noun in ((tags, plan.known_tags, "tags"), (repositories, plan.known_repositories,
                                                                  "repositories")):
        if count > max(floor, max_share * known):
            return (f"nothing removed: the run would remove {count} of {known} {noun} known here, more than "
                    f"background.sync.max_removal_share ({max_share:.0%}, at least {floor}); check the registry, "
                    f"then run `manage.py sync_registry --registry {plan.registry.name} --max-removal-share 1`")
    return ""


def sync_plan(*, registry: Registry, delete: bool, client: RegistryClient | None = None,
              max_removal_share: float | None = None, should_stop: Callable[[], bool] | None = None,
              progress: Progress | None = None, on_read: Callable[[RepositoryRead], None] | None = None,
              ) -> SyncPlan:
    """Reads the whole catalog and every listed repository; writes nothing itself. `on_read` hears each
    repository read, in this thread, as it comes in (StreamedWrites)."""
    client = client or RegistryClient(registry)
    plan = SyncPlan(registry=registry, delete=delete, catalog_read_at=timezone.now())
    known = _known(registry)
    plan.known_repositories, plan.known_tags = len(known), sum(len(tags) for tags in known.values())
    names: list[str] = []
    try:
        for name in client.catalog():
            if _is_name(name):
                names.append(name)
            elif len(plan.skipped) < _MAX_ERRORS_KEPT:
                plan.skipped.append(f"skipped {name[:100]!r}: not a repository name")
            if progress is not None and len(names) % 1000 == 0:
                progress("catalog", len(names), 0)
    except RegistryError as exc:
        plan.aborted = True
        plan.fail(f"catalog: {exc.__class__.__name__}: {exc}")
    names = sorted(set(names))
    plan.listed = len(names)
    reads = read_repositories(client=client, names=names, known=known,
                              workers=int(option("background.sync.concurrency")), should_stop=should_stop)
    finished = 0
    try:
        for name, outcome in reads:
            finished += 1
            if isinstance(outcome, RepositoryRead):
                plan.repositories.append(outcome)
                if on_read is not None:
                    on_read(outcome)
            else:
                plan.fail(f"{name}: {outcome.__class__.__name__}: {outcome}")
                if isinstance(outcome, RegistryUnavailable):
                    plan.aborted = True  # down: do not try every other repository too
                    break
            if progress is not None:
                progress("repositories", finished, len(names))
    finally:
        reads.close()
    if finished < len(names) and not plan.aborted:
        plan.aborted = True
        plan.fail("interrupted: the process was stopping" if should_stop and should_stop()
                  else f"{len(names) - finished} repositories were not read")
    plan.repositories.sort(key=lambda r: r.name)
    listed = set(names)
    plan.gone = sorted((name, len(tags)) for name, tags in known.items() if name not in listed)
    share = option("background.sync.max_removal_share") if max_removal_share is None else max_removal_share
    plan.withheld = _judge_removals(plan, max_share=float(share), floor=int(option("background.sync.removal_floor")))
    return plan


def _newer_event(registry: Registry, repository_name: str, since: datetime) -> Callable[[], bool]:
    """Has the registry sent an event about this repository since `since` (processed or not)?"""
    return lambda: Event.objects.filter(registry=registry, repository=repository_name,
                                        received_at__gt=since).exclude(action="pull").exists()


WRITE_BATCH = 500  # tag writes per transaction (namespaces/sync_writes.py)


def _latest_events(registry: Registry) -> sync_writes.LatestEvents:
    """For the batched writes: when the registry last reported on each of some repositories (after `since`;
    pulls do not count), asked under their locks."""
    def latest(names: list[str], since: datetime) -> dict[str, datetime]:
        rows = (Event.objects.filter(registry=registry, repository__in=names, received_at__gt=since)
                .exclude(action="pull").order_by().values("repository").annotate(last=Max("received_at")))
        return {row["repository"]: row["last"] for row in rows}
    return latest


def _batches(repositories: list[RepositoryRead]) -> Iterator[list[RepositoryRead]]:
    batch: list[RepositoryRead] = []
    size = 0
    for repository in repositories:
        if batch and size + len(repository.writes) > WRITE_BATCH:
            yield batch
            batch, size = [], 0
        batch.append(repository)
        size += len(repository.writes)
    if batch:
        yield batch


Written = dict[str, dict[str, "tag_services.TagChange | tag_services.ImageNameRefused"]]  # name → tag → outcome


def _write_one_by_one(registry: Registry, batch: list[RepositoryRead]) -> Written:
    """The batch's writes tag by tag, each in its own transaction (when a batch met a conflict)."""
    out: Written = {}
    for repository in batch:
        outcomes = out.setdefault(repository.name, {})
        for write in repository.writes:
            try:
                outcomes[write.tag] = tag_services.tag_sync_set(
                    registry=registry, repository_name=repository.name, tag=write.tag, digest=write.digest,
                    media_type=write.media_type, image_id=write.image_id, size=write.size,
                    platforms=write.platforms, observed_at=write.observed_at,
                    newer_event=_newer_event(registry, repository.name, write.observed_at))
            except tag_services.ImageNameRefused as exc:
                outcomes[write.tag] = exc
                break
    return out


def _write(registry: Registry, batch: list[RepositoryRead]) -> Written:
    writes = {repository.name: repository.writes for repository in batch if repository.writes}
    if not writes:
        return {}
    try:
        results = sync_writes.tags_sync_set_many(registry=registry, writes=writes,
                                                 latest_events=_latest_events(registry))
    except IntegrityError:
        log.info("sync of %s: a batch met a concurrent write; writing it tag by tag", registry.name)
        return _write_one_by_one(registry, batch)
    out: Written = {}
    for name, write, outcome in results:
        out.setdefault(name, {})[write.tag] = outcome
    return out


class StreamedWrites:
    """A plan's additions written while it is read: `add` (sync_plan's `on_read`) gathers the reads and
    writes them a batch at a time, in the thread that reads the plan, while the readers go on; `flush`
    writes the rest and returns every outcome, for `sync_apply(written=…)` to report and go on from (the
    removals, judged on the whole plan). The writes and their rules are those of `sync_apply`."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.written: Written = {}
        self._pending: list[RepositoryRead] = []
        self._size = 0

    def add(self, read: RepositoryRead) -> None:
        if not read.writes:
            return
        if self._pending and self._size + len(read.writes) > WRITE_BATCH:
            self._write()
        self._pending.append(read)
        self._size += len(read.writes)

    def flush(self) -> Written:
        self._write()
        return self.written

    def _write(self) -> None:
        if self._pending:
            self.written.update(_write(self.registry, sorted(self._pending, key=lambda r: r.name)))
            self._pending, self._size = [], 0


def _count_unnotified(registry: Registry, report: SyncReport, applied: list[tuple[str, str, str]]) -> None:
    """Adds to the report the tags this batch wrote that no event of the registry named (one query)."""
    written = [(name, tag) for kind, name, tag in applied if kind in ("add", "change")]
    if not written:
        return
    named = set(Event.objects.filter(registry=registry, repository__in={name for name, _ in written})
                .exclude(action="pull").values_list("repository", "tag").distinct())
    missed = [f"{name}:{tag}" for name, tag in written if (name, tag) not in named]
    report.unnotified += len(missed)
    report.unnotified_sample += missed[:_SAMPLE - len(report.unnotified_sample)]


def sync_apply(*, plan: SyncPlan, progress: Progress | None = None, record: bool = True,
               written: Written | None = None, started: float | None = None) -> SyncReport:
    """Applies the plan (the removals only when it may), records the outcome on the registry. Writes go
    in batches of repositories (namespaces/sync_writes.py), removals repository by repository. `written`:
    the outcomes of the plan's writes made already while it was read (StreamedWrites.flush), reported
    here and not written again; `started`: when the run began (perf_counter), for its recorded seconds."""
    registry = plan.registry
    report = SyncReport(registry=registry.name, aborted=plan.aborted, withheld=plan.withheld,
                        errors=list(plan.failures))
    added_to: set[str] = set()
    done = 0
    started = time.perf_counter() if started is None else started
    for batch in _batches(plan.repositories):
        outcomes_of = _write(registry, batch) if written is None else written
        applied_before = len(report.applied)
        for repository in batch:
            outcomes = outcomes_of.get(repository.name, {})
            for write in repository.writes:
                change = outcomes.get(write.tag)
                if isinstance(change, tag_services.ImageNameRefused):
                    report.errors.append(f"{repository.name}: {change}")
                    break
                if change is None or not change.applied:
                    continue
                report.applied.append(("add" if change.created else "change", repository.name, write.tag))
                if change.created:
                    report.tags_added += 1
                    if repository.new:
                        added_to.add(repository.name)
                else:
                    report.tags_updated += 1
            if plan.removes and repository.removed:
                removed = tag_services.tags_sync_remove(
                    registry=registry, repository_name=repository.name, names=set(repository.removed),
                    observed_at=repository.listed_at,
                    newer_event=_newer_event(registry, repository.name, repository.listed_at))
                report.applied += [("remove", repository.name, tag) for tag in removed]
                report.tags_removed += len(removed)
            done += 1
        _count_unnotified(registry, report, report.applied[applied_before:])
        if progress is not None:
            progress("apply", done, len(plan.repositories))
    if plan.removes:
        for name, _ in plan.gone:
            if tag_services.repository_delete(registry=registry, repository_name=name,
                                              unchanged_since=plan.catalog_read_at,
                                              newer_event=_newer_event(registry, name, plan.catalog_read_at)):
                report.applied.append(("remove-repository", name, ""))
                report.repositories_removed += 1
    report.repositories_added = len(added_to)
    report.seconds = time.perf_counter() - started
    report.outcome = (Outcome.ABORTED if plan.aborted else Outcome.INCOMPLETE if plan.failure_count
                      else Outcome.WITHHELD if plan.withheld else Outcome.COMPLETE)
    if record:
        Registry.objects.filter(pk=registry.pk).update(
            last_sync_at=timezone.now(), last_sync_error="\n".join(report.errors + plan.skipped)[:10000],
            last_sync_outcome=report.outcome, last_sync_summary=report.summary())
    log.info("sync of %s: %s, %s", registry.name, report.outcome, report.summary())
    return report


def sync_registry(*, registry: Registry, delete: bool, client: RegistryClient | None = None,
                  should_stop: Callable[[], bool] | None = None) -> SyncReport:
    """One run (what the background does for each due registry): the plan, its additions written while
    it is read, then the removals it may make."""
    started = time.perf_counter()
    streamed = StreamedWrites(registry)
    plan = sync_plan(registry=registry, delete=delete, client=client, should_stop=should_stop, on_read=streamed.add)
    report = sync_apply(plan=plan, written=streamed.flush(), started=started)
    metrics.sync_run(registry=registry.name, outcome=report.outcome, seconds=time.perf_counter() - started)
    return report


def sync_due(registry: Registry, *, interval_seconds: float) -> bool:
    last = registry.last_sync_at
    return last is None or (timezone.now() - last).total_seconds() >= interval_seconds


def run_sync(*, strategy: str | None = None, holder: str, force: bool = False,
             interval_seconds: float | None = None, should_stop: Callable[[], bool] | None = None,
             ) -> list[SyncReport]:
    """Syncs every registry that is due under `strategy` (default: the option), one process at a time per
    registry (a lease), skipping registries another process synced within the interval unless `force`."""
    from mirror.services import lease_acquire, lease_release

    strategy = strategy or option("background.sync.strategy")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown sync strategy {strategy!r}")
    interval = float(option("background.sync.interval") if interval_seconds is None else interval_seconds)
    reports = []
    for registry in Registry.objects.order_by("id"):
        if strategy == "initial" and Repository.objects.filter(namespace__registry=registry).exists():
            continue
        lease = f"sync:{registry.pk}"
        if not lease_acquire(name=lease, holder=holder, seconds=max(interval, 3600)):
            continue
        try:
            registry.refresh_from_db()
            if not force and not sync_due(registry, interval_seconds=interval):
                continue
            reports.append(sync_registry(registry=registry, delete=strategy in REMOVING, should_stop=should_stop))
        finally:
            lease_release(name=lease, holder=holder)
    return reports
