"""Retention runs: create, plan, execute exactly the plan, pause, resume, cancel; claimed by the background.

A run is planned once (retention/planner.py, fed by retention/facts.py) and its plan stored as items. A
dry run ends there. A real run then handles its delete items in the plan's order, one digest at a time,
and never deletes anything that is not an item. Before each delete it checks that nothing changed since
the plan in a way that would make the delete unsafe, and skips the item (saying why) when something did:
- the tags on the digest here are still exactly the planned ones (no tag pushed onto it since);
- no index still here lists the digest as a platform;
- the registry lists no tag of the repository that this service has not seen (the mirror is not behind),
  and still serves each planned tag at the planned digest.
So a real run deletes the plan or less, never more. Then it deletes through the registry API as the
internal account (namespaces.tags.image_delete: DELETE /v2/<name>/manifests/<digest>, then the tags
here, with a tag.delete activity each, as a delete event would), and counts progress (n of m images).

Runs are rows claimed with a lease (like the inbox, mirror/processing.py), so any background process may
take one and a crashed one's run is taken over when its lease expires; an item is handled at most once
because its status is written before the next is taken, and a delete repeated after a crash finds the
manifest gone (ManifestUnknown: forgotten here, counted as deleted).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from activities.services import activity_record
from namespaces.deletion import image_and_beside_delete
from namespaces.models import Namespace, Repository, Tag
from portus.options import option
from registries import client as registry_client
from registries.client import DeleteNotAllowed, RegistryError
from retention import facts as retention_facts
from retention import planner
from retention.models import Item, Run

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
RUN_RETENTION = timedelta(days=90)  # finished runs' reports are kept this long
MAX_KEPT_ITEMS = 10_000  # kept tags listed in one report; beyond, they are counted only
_BATCH = 1000


class RetentionRefused(Exception):
    """A run that cannot be started or changed as asked; the message is for the user."""


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _actor(run: Run):
    return run.created_by or User.objects.filter(username=User.INTERNAL_USERNAME).first()


# --- creating and steering runs -------------------------------------------------------------------


def run_create(*, dry_run: bool, namespace: Namespace | None, by, trigger: str = Run.Trigger.MANUAL,
               holder: str = "") -> Run:
    """Queues a run (the caller asked policy.can_run_retention), or, with `holder`, creates it already
    claimed by that holder (`manage.py retention` works it in the foreground). A real run needs
    `delete.enabled`."""
    if not dry_run and not option("delete.enabled"):
        raise RetentionRefused("Deleting is turned off on this instance (delete.enabled): only dry runs are possible.")
    if namespace is not None and namespace.is_retired:
        raise RetentionRefused("Retention does not run in a retired namespace.")
    return Run.objects.create(dry_run=dry_run, namespace=namespace,
                              namespace_name=namespace.display_name if namespace else "",
                              created_by=by if getattr(by, "pk", None) else None, trigger=trigger,
                              status=Run.Status.RUNNING if holder else Run.Status.QUEUED, holder=holder,
                              lease_until=timezone.now() + LEASE if holder else None)


def run_pause(*, run: Run, by) -> Run:
    """A queued run is paused at once; a running one after the image in hand."""
    updated = Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).update(status=Run.Status.PAUSED)
    if not updated:
        if not Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(pause_requested=True):
            raise RetentionRefused(f"A {run.get_status_display().lower()} run cannot be paused.")
    run.refresh_from_db()
    return run


def run_resume(*, run: Run, by) -> Run:
    if not Run.objects.filter(pk=run.pk, status=Run.Status.PAUSED).update(
            status=Run.Status.QUEUED, pause_requested=False, holder="", lease_until=None):
        # A pause asked but not reached yet is simply withdrawn.
        if not Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING, pause_requested=True).update(
                pause_requested=False):
            raise RetentionRefused("Only a paused run can be resumed.")
    run.refresh_from_db()
    return run


def run_cancel(*, run: Run, by) -> Run:
    """A queued or paused run ends without handling its remaining items (a running one: pause it first)."""
    now = timezone.now()
    with transaction.atomic():
        if not Run.objects.filter(pk=run.pk, status__in=(Run.Status.QUEUED, Run.Status.PAUSED)).update(
                status=Run.Status.CANCELLED, finished_at=now, holder="", lease_until=None):
            raise RetentionRefused("Only a queued or paused run can be cancelled (pause a running one first).")
        Item.objects.filter(run=run, status=Item.Status.PLANNED).update(
            status=Item.Status.SKIPPED, note="the run was cancelled", handled_at=now)
    run.refresh_from_db()
    return run


# --- planning ---------------------------------------------------------------------------------------


def plan_for(*, namespace: Namespace | None, now: datetime, tick: Callable[[], None] | None = None,
             ) -> tuple[planner.Plan, retention_facts.Gathered]:
    """The plan a run of this scope makes now: the one function dry and real runs share."""
    gathered = retention_facts.gather(namespace=namespace, now=now, tick=tick)
    return planner.plan_all(gathered.repositories, now), gathered


class LeaseLost(Exception):
    """Another process holds the run now (this one was too slow to renew its lease)."""


def _renewer(run: Run, holder: str) -> Callable[[], None]:
    """Renews the run's lease while it is planned, at most every 30 s; raises LeaseLost once it is gone."""
    due = [time.monotonic() + 30]

    def tick() -> None:
        if time.monotonic() < due[0]:
            return
        due[0] = time.monotonic() + 30
        if not Run.objects.filter(pk=run.pk, holder=holder).update(lease_until=timezone.now() + LEASE):
            raise LeaseLost(f"retention run {run.pk}: lease lost while planning")

    return tick


def _store_plan(run: Run, plan: planner.Plan, gathered: retention_facts.Gathered, now: datetime,
                holder: str) -> None:
    items = []
    for position, deletion in enumerate(plan.deletions):
        items.append(Item(run=run, position=position, action=Item.Action.DELETE, status=Item.Status.PLANNED,
                          repository_id_ref=deletion.repository_id, repository=deletion.repository[:512],
                          digest=deletion.digest[:160], tags=list(deletion.tags),
                          media_type=deletion.media_type[:255], reason=deletion.reason[:500]))
    listed = plan.kept[:MAX_KEPT_ITEMS]
    offset = len(items)
    for position, kept in enumerate(listed):
        items.append(Item(run=run, position=offset + position, action=Item.Action.KEEP, status=Item.Status.KEPT,
                          repository_id_ref=kept.repository_id, repository=kept.repository[:512],
                          digest=kept.digest[:160], tags=[kept.tag], reason=kept.reason[:500]))
    with transaction.atomic():
        # Stored once, by the holder: a process that lost the run while planning stores nothing.
        if not Run.objects.select_for_update().filter(pk=run.pk, holder=holder, planned_at__isnull=True).exists():
            raise LeaseLost(f"retention run {run.pk}: planned elsewhere meanwhile")
        Item.objects.bulk_create(items, batch_size=_BATCH)
        Run.objects.filter(pk=run.pk).update(
            planned_at=now, total=len(plan.deletions), kept_count=len(plan.kept), kept_listed=len(listed),
            repositories=len(gathered.repositories), errors=gathered.errors, error_count=len(gathered.errors))
    run.refresh_from_db()


# --- executing ---------------------------------------------------------------------------------------


class _Checks:
    """What one run learnt of the registry, per repository (read once per repository)."""

    def __init__(self) -> None:
        self.unseen: dict[int, str] = {}

    def mirror_behind(self, repository: Repository) -> str:
        if repository.pk not in self.unseen:
            listed = registry_client.RegistryClient(repository.namespace.registry).tags(repository.full_name)
            known = set(Tag.objects.filter(repository=repository).values_list("name", flat=True))
            unseen = sorted(set(listed) - known)
            self.unseen[repository.pk] = (
                f"the registry lists tags not seen here yet ({', '.join(unseen[:5])}): run again once they are"
                if unseen else "")
        return self.unseen[repository.pk]


def _why_not_now(item: Item, repository: Repository | None, checks: _Checks) -> str:
    """Why deleting the item now would not be what was planned ('' when it still is)."""
    if repository is None:
        return "the repository is gone"
    current = sorted(Tag.objects.filter(repository=repository, digest=item.digest).values_list("name", flat=True))
    if not current:
        return "no tag is on it any more (deleted since the plan)"
    if current != sorted(item.tags):
        return f"its tags changed since the plan (now: {', '.join(current[:10])})"
    for index in Tag.objects.filter(repository=repository).exclude(digest=item.digest).exclude(platforms=[]):
        if any(isinstance(p, dict) and p.get("digest") == item.digest for p in index.platforms):
            return f"a platform of the index tag {index.name}, which is still here"
    behind = checks.mirror_behind(repository)
    if behind:
        return behind
    client = registry_client.RegistryClient(repository.namespace.registry)
    for tag in item.tags:
        served = client.manifest_digest(repository.full_name, tag)
        if served != item.digest:
            return (f"the registry no longer serves {tag}" if served is None
                    else f"the registry now serves {tag} at {served}")
    return ""


def _finish_item(item: Item, status: str, note: str = "") -> None:
    item.status, item.note, item.handled_at = status, note[:1000], timezone.now()
    item.save(update_fields=["status", "note", "handled_at"])


def _execute_item(run: Run, item: Item, checks: _Checks, actor) -> str:
    """Handles one delete item; returns its new status. DeleteNotAllowed is raised for the run to stop."""
    repository = Repository.objects.with_namespace().filter(pk=item.repository_id_ref).first()
    try:
        why = _why_not_now(item, repository, checks)
        if why:
            _finish_item(item, Item.Status.SKIPPED, why)
            return Item.Status.SKIPPED
        # With the signatures, SBOMs and attestations beside it (namespaces/deletion.py).
        image_and_beside_delete(repository=repository, digest=item.digest, by=actor,
                                parameters={"retention_run": run.pk})
    except DeleteNotAllowed as exc:
        _finish_item(item, Item.Status.ERROR, str(exc))
        raise
    except RegistryError as exc:
        _finish_item(item, Item.Status.ERROR, f"{exc.__class__.__name__}: {exc}")
        return Item.Status.ERROR
    _finish_item(item, Item.Status.DELETED)
    return Item.Status.DELETED


def _record_end(run: Run) -> None:
    key = "retention.dry_run" if run.dry_run else "retention.run"
    activity_record(key=key, owner=_actor(run), target_type="retention_run", target_name=f"#{run.pk}",
                    namespace=run.namespace, parameters={
                        "run": run.pk, "deleted": run.deleted_count, "tags": run.deleted_tags,
                        "planned": run.total, "kept": run.kept_count, "errors": run.error_count,
                        "status": run.status, "scope": run.scope_label})


def _end(run: Run, holder: str, status: str, *, error: str = "") -> Run:
    now = timezone.now()
    Run.objects.filter(pk=run.pk, holder=holder).update(status=status, finished_at=now, holder="",
                                                        lease_until=None, error=error[:2000])
    run.refresh_from_db()
    if status in (Run.Status.DONE, Run.Status.FAILED):
        _record_end(run)
    return run


def run_work(run: Run, *, holder: str, should_stop: Callable[[], bool] | None = None,
             progress: Callable[[Run], None] | None = None, now: datetime | None = None) -> Run:
    """Plans (when not yet planned) and executes a run this holder has claimed, until it ends, is paused,
    or `should_stop` says so (it is then handed back, queued, to be continued)."""
    now = now or timezone.now()
    if run.started_at is None:
        Run.objects.filter(pk=run.pk).update(started_at=now)
    if run.planned_at is None:
        try:
            plan, gathered = plan_for(namespace=run.namespace, now=now, tick=_renewer(run, holder))
            _store_plan(run, plan, gathered, now, holder)
        except LeaseLost as exc:
            log.warning("%s", exc)
            run.refresh_from_db()
            return run
        except Exception as exc:  # noqa: BLE001 - the run says why; the process goes on
            log.exception("retention run %s: planning failed", run.pk)
            return _end(run, holder, Run.Status.FAILED, error=f"planning failed: {exc.__class__.__name__}: {exc}")
        if progress:
            progress(run)
    if run.dry_run:
        return _end(run, holder, Run.Status.DONE)
    if not option("delete.enabled"):
        return _end(run, holder, Run.Status.FAILED, error="deleting was turned off (delete.enabled)")
    checks, actor = _Checks(), _actor(run)
    pending = list(Item.objects.filter(run=run, action=Item.Action.DELETE, status=Item.Status.PLANNED)
                   .order_by("position").values_list("pk", flat=True))
    for pk in pending:
        # The lease is renewed, and a pause noticed, before every image.
        if not Run.objects.filter(pk=run.pk, holder=holder, pause_requested=False).update(
                lease_until=timezone.now() + LEASE):
            run.refresh_from_db()
            if run.holder == holder and run.pause_requested:
                Run.objects.filter(pk=run.pk, holder=holder).update(status=Run.Status.PAUSED, pause_requested=False,
                                                                    holder="", lease_until=None)
                run.refresh_from_db()
            return run
        if should_stop is not None and should_stop():
            Run.objects.filter(pk=run.pk, holder=holder).update(status=Run.Status.QUEUED, holder="", lease_until=None)
            run.refresh_from_db()
            return run
        item = Item.objects.get(pk=pk)
        try:
            status = _execute_item(run, item, checks, actor)
        except DeleteNotAllowed as exc:
            Item.objects.filter(run=run, status=Item.Status.PLANNED).update(
                status=Item.Status.SKIPPED, note="not tried: the registry refuses deletes", handled_at=timezone.now())
            _count(run, Item.Status.ERROR, item)
            return _end(run, holder, Run.Status.FAILED, error=f"{exc} — nothing more was tried")
        _count(run, status, item)
        if progress:
            progress(run)
    return _end(run, holder, Run.Status.DONE)


def _count(run: Run, status: str, item: Item) -> None:
    from django.db.models import F

    changes: dict[str, Any] = {"done": F("done") + 1}
    if status == Item.Status.DELETED:
        changes.update(deleted_count=F("deleted_count") + 1, deleted_tags=F("deleted_tags") + len(item.tags))
    elif status == Item.Status.ERROR:
        changes["error_count"] = F("error_count") + 1
    Run.objects.filter(pk=run.pk).update(**changes)
    run.refresh_from_db()


# --- the background ----------------------------------------------------------------------------------


def _claimable(now: datetime) -> Q:
    return Q(status=Run.Status.QUEUED) | Q(status=Run.Status.RUNNING, lease_until__lt=now)


def run_claim(*, holder: str, now: datetime | None = None) -> Run | None:
    """Takes the oldest queued run (or one whose holder's lease ran out) for `holder`."""
    now = now or timezone.now()
    with transaction.atomic():
        pk = (Run.objects.select_for_update(skip_locked=True).filter(_claimable(now)).order_by("id")
              .values_list("pk", flat=True).first())
        if pk is None:
            return None
        if not Run.objects.filter(pk=pk).filter(_claimable(now)).update(
                status=Run.Status.RUNNING, holder=holder, lease_until=now + LEASE):
            return None
    return Run.objects.select_related("namespace", "created_by").get(pk=pk)


def schedule_due(*, now: datetime | None = None) -> Run | None:
    """Queues the scheduled run when `delete.garbage_collector.enabled` is on and the last scheduled run
    is older than `delete.garbage_collector.interval` seconds (one at a time: none while one is pending)."""
    if not option("delete.garbage_collector.enabled") or not option("delete.enabled"):
        return None
    from mirror.services import lease_acquire, lease_release

    now = now or timezone.now()
    interval = max(60, int(option("delete.garbage_collector.interval")))
    holder = holder_name()
    # One process at a time decides (a lease, as the catalog sync takes one per registry).
    if not lease_acquire(name="retention:schedule", holder=holder, seconds=60, now=now):
        return None
    try:
        scheduled = Run.objects.filter(trigger=Run.Trigger.SCHEDULE)
        if scheduled.filter(status__in=(Run.Status.QUEUED, Run.Status.RUNNING, Run.Status.PAUSED)).exists():
            return None
        last = scheduled.order_by("-created_at").values_list("created_at", flat=True).first()
        if last is not None and (now - last).total_seconds() < interval:
            return None
        return Run.objects.create(dry_run=False, trigger=Run.Trigger.SCHEDULE)
    finally:
        lease_release(name="retention:schedule", holder=holder)


def runs_prune(*, now: datetime | None = None) -> int:
    """Forgets runs (and their reports) finished more than RUN_RETENTION ago; the activities stay."""
    now = now or timezone.now()
    old = list(Run.objects.filter(finished_at__lt=now - RUN_RETENTION).values_list("pk", flat=True)[:100])
    if old:
        Item.objects.filter(run_id__in=old).delete()
        Run.objects.filter(pk__in=old).delete()
    return len(old)


def background_tick(*, holder: str, should_stop: Callable[[], bool] | None = None) -> Run | None:
    """One round of the background: queue the scheduled run if due, then work one claimable run."""
    schedule_due()
    run = run_claim(holder=holder)
    if run is None:
        return None
    return run_work(run, holder=holder, should_stop=should_stop)


# --- reports -----------------------------------------------------------------------------------------


def report_text(run: Run, *, kept_limit: int = 50) -> str:
    """The plain-text report of a run (`manage.py retention`, the API's `text`)."""
    if run.dry_run:
        head = f"Retention dry run #{run.pk} ({run.scope_label}): {run.status}, nothing deleted"
    else:
        head = f"Retention run #{run.pk} ({run.scope_label}): {run.status}, {run.done} of {run.total} images handled"
    lines = [f"{head}; repositories with an enabled rule: {run.repositories}"]
    items = list(run.items.order_by("position"))
    deletes = [i for i in items if i.action == Item.Action.DELETE]
    verb = "would delete" if run.dry_run else "deleted"
    if run.dry_run:
        lines.append(f"Would delete: {len(deletes)} image(s), {sum(len(i.tags) for i in deletes)} tag(s)")
    else:
        lines.append(f"Deleted: {run.deleted_count} image(s), {run.deleted_tags} tag(s)")
    for item in deletes:
        state = verb if run.dry_run or item.status == Item.Status.DELETED else item.status
        note = f" — {item.note}" if item.note else ""
        lines.append(f"  {state:<12} {item.repository}:{','.join(item.tags)} {item.digest[:19]}… "
                     f"({item.reason}){note}")
    kept = [i for i in items if i.action == Item.Action.KEEP]
    lines.append(f"Kept: {run.kept_count} tag(s)")
    for item in kept[:kept_limit]:
        lines.append(f"  kept         {item.repository}:{item.tags[0] if item.tags else ''} ({item.reason})")
    if run.kept_count > min(len(kept), kept_limit):
        lines.append(f"  … and {run.kept_count - min(len(kept), kept_limit)} more")
    errors = list(run.errors or []) + [f"{i.repository}@{i.digest}: {i.note}" for i in deletes
                                       if i.status == Item.Status.ERROR]
    lines.append(f"Errors: {len(errors)}")
    lines += [f"  {e}" for e in errors]
    if run.error:
        lines.append(f"Run error: {run.error}")
    return "\n".join(lines)
