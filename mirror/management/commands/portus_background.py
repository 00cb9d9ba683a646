"""`manage.py portus_background`: processes registry events, runs the catalog sync, keeps a heartbeat.

Any number of these may run, on any number of hosts: events are claimed with a lease, and each
registry's sync is taken by one process at a time.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from django.utils import timezone

from hooks import background as hooks_background
from hooks import queue as hooks_queue
from images import hooks as image_hooks
from ldapauth import background as ldap_background
from mirror import processing, services, sync
from mirror.wake import InboxWake
from portus.options import option
from retention import background as retention_background

log = logging.getLogger("mirror.background")

PRUNE_EVERY_SECONDS = 3600


def _fresh_connection() -> None:
    """Drops a broken or too old database connection between two rounds (never inside a transaction:
    an embedding program, or a test, may hold one open around us)."""
    if not connection.in_atomic_block:
        close_old_connections()


def _drop_connection() -> None:
    if not connection.in_atomic_block:
        connection.close()


MAX_EVENT_WORKERS = 16
# Loops per process on PostgreSQL. An event's work is mostly waiting for the database and the registry, on
# a machine the pushes keep busy; measured with `manage.py bench --only push` (200 pushes, 50 at once, two
# processes, alternating): push→visible p99 2.60 / 2.08 / 2.77 s with 2 loops each, 2.10 / 1.58 s with 3,
# 1.58 / 1.56 / 1.92 s with 4 (the wait in the inbox p50 0.8–1.3 s → 34–52 ms; README, "2026-12-07, evening").
# Each loop holds two connections (its own and its LISTEN, mirror/wake.py), so the default stays 2 until the
# loops of a process share one LISTEN: with 4, the test suite's stacks passed PostgreSQL's 100 connections.
DEFAULT_EVENT_WORKERS = 2
# Events a loop claims at a time. A claimed event waits for the ones before it in its batch while the
# other loops may have nothing left to claim, so a burst is shared out best in small batches; one at a
# time pays a claim (three statements, and the loops' contention for the rows) for every event. Measured
# with `manage.py bench --only push` (200 pushes, 50 at once, two processes of two loops): push→visible
# p99 1.9–3.5 s with 20, 2.1 s with 8, 1.1–1.5 s with 4, 1.8 s with 2, 2.3 s with 1 (README, "2026-12-07").
DEFAULT_BATCH = 4


class Command(BaseCommand):
    help = ("Process the registry's notifications and reconcile with its catalog. Stops cleanly on SIGTERM "
            "or SIGINT, after the event in hand.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true",
                            help="process every due event (and a due sync), then exit")
        parser.add_argument("--interval", type=float, default=0.5,
                            help="seconds to wait for new events when the inbox is empty (default 0.5; on "
                                 "PostgreSQL a new event ends the wait at once)")
        parser.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                            help=f"events each loop claims at a time (default {DEFAULT_BATCH}: a burst is shared "
                                 "out among the loops)")
        parser.add_argument("--event-workers", type=int, default=None,
                            help=f"loops processing events side by side in this process, 1 to 16 (default "
                                 f"{DEFAULT_EVENT_WORKERS} on PostgreSQL, 1 on SQLite): an event's work is mostly "
                                 "waiting for the registry and the database, so another loop takes the next "
                                 "event meanwhile")
        parser.add_argument("--no-sync", action="store_true", help="never run the catalog sync")
        parser.add_argument("--metrics-port", type=int, default=0,
                            help="serve this process's Prometheus metrics on this port (default: none; a "
                                 "background process sharing PROMETHEUS_MULTIPROC_DIR with the web server "
                                 "is counted in its /metrics already)")
        parser.add_argument("--metrics-address", default="127.0.0.1",
                            help="address for --metrics-port (default 127.0.0.1; it has no token)")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["interval"] <= 0 or opts["batch"] <= 0:
            raise CommandError("--interval and --batch must be positive")
        workers = opts.get("event_workers")
        if workers is None:
            workers = DEFAULT_EVENT_WORKERS if connection.vendor == "postgresql" else 1
        if not 1 <= workers <= MAX_EVENT_WORKERS:
            raise CommandError(f"--event-workers must be 1 to {MAX_EVENT_WORKERS}")
        self.stats_lock = threading.Lock()
        self.stopping = getattr(self, "stopping", None) or threading.Event()
        self.name = services.process_name()
        self.started_at = timezone.now()
        self.stats: dict[str, Any] = {"processed": 0, "last_event_at": None, "sync": None, "errors": 0}
        events_on = bool(option("background.registry.enabled"))
        sync_on = bool(option("background.sync.enabled")) and not opts["no_sync"]
        if opts["once"]:
            self._once(batch=opts["batch"], events_on=events_on, sync_on=sync_on)
            return
        if opts["metrics_port"]:
            self._serve_metrics(opts["metrics_address"], opts["metrics_port"])
        previous = self._install_signals()
        log.info("portus_background %s started (events %s, sync %s)", self.name, "on" if events_on else "off",
                 option("background.sync.strategy") if sync_on else "off")
        syncer = threading.Thread(target=self._sync_loop, name="portus-sync", daemon=True) if sync_on else None
        if syncer is not None:
            syncer.start()
        retention_thread = retention_background.start(self.stopping, self.name)
        deliverer = hooks_background.start(self.stopping)  # outbound webhooks, in a thread of their own
        ldap_background.start(stopping=self.stopping, holder=self.name)  # LDAP group sync, when on
        # Image details of the pushes, read beside the event loops rather than in them.
        self.held_reader = processing.HeldReader(self.stopping).start() if events_on else None
        # More loops for events alone (each claims its own batches: two workers never hold one event).
        helpers = [threading.Thread(target=self._event_loop, args=(opts["batch"], opts["interval"]),
                                    name=f"portus-events-{n}", daemon=True) for n in range(2, workers + 1)]
        for helper in helpers if events_on else []:
            helper.start()
        try:
            self._loop(batch=opts["batch"], interval=opts["interval"], events_on=events_on)
        finally:
            self.stopping.set()
            for helper in helpers if events_on else []:
                helper.join(timeout=30)
            if syncer is not None:
                syncer.join(timeout=30)
            retention_thread.join(timeout=30)
            if self.held_reader is not None:
                self.held_reader.join(timeout=30)
            deliverer.join(timeout=30)
            services.heartbeat_stop(name=self.name)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            log.info("portus_background %s stopped", self.name)

    def _serve_metrics(self, address: str, port: int) -> None:
        if not 0 < port < 65536:
            raise CommandError("--metrics-port must be 1 to 65535")
        from prometheus_client import start_http_server

        from portus import metrics

        start_http_server(port, addr=address, registry=metrics.process_registry())
        log.info("portus_background %s: metrics on http://%s:%d/metrics", self.name, address, port)

    # -- signals and pulse -------------------------------------------------------------------------

    def _install_signals(self) -> dict:
        def stop(signum, frame) -> None:  # noqa: ARG001
            log.info("portus_background %s: signal %s, stopping after the event in hand", self.name, signum)
            self.stopping.set()

        if threading.current_thread() is not threading.main_thread():
            return {}  # run inside another program (a local all-in-one run): it stops us through `stopping`
        return {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}

    def _beat(self) -> None:
        services.heartbeat_beat(name=self.name, info=dict(self.stats), started_at=self.started_at)

    # -- events --------------------------------------------------------------------------------------

    def _loop(self, *, batch: int, interval: float, events_on: bool) -> None:
        wake = InboxWake(self.stopping)  # an event stored wakes the wait below (PostgreSQL)
        if events_on:
            wake.start()
        try:
            self._rounds(batch=batch, interval=interval, events_on=events_on, wake=wake)
        finally:
            wake.close()

    def _rounds(self, *, batch: int, interval: float, events_on: bool, wake: InboxWake) -> None:
        next_beat = next_prune = 0.0
        while not self.stopping.is_set():
            claimed = 0
            try:
                _fresh_connection()
                if events_on:
                    claimed = self._events(batch)
                claimed += image_hooks.background_round(should_stop=self.stopping.is_set)
                now = time.monotonic()
                if now >= next_beat:
                    self._beat()
                    next_beat = now + services.HEARTBEAT_EVERY.total_seconds()
                if now >= next_prune:
                    services.events_prune()
                    services.heartbeats_prune()
                    next_prune = now + PRUNE_EVERY_SECONDS
            except Exception:  # the database went away, say: keep the process, try again shortly
                self._failed("loop", interval)
                continue
            if not claimed:
                if events_on:
                    wake.wait(interval)
                else:
                    self.stopping.wait(interval)

    def _failed(self, loop: str, interval: float) -> None:
        """A round that raised: counted, logged, its connection dropped, and a pause before the next."""
        with self.stats_lock:
            self.stats["errors"] += 1
        log.exception("portus_background %s: %s error", self.name, loop)
        _drop_connection()
        self.stopping.wait(min(5.0, interval * 10))

    def _events(self, batch: int) -> int:
        claimed = processing.process_batch(limit=batch, should_stop=self.stopping.is_set,
                                           reader=getattr(self, "held_reader", None))
        if claimed:
            with self.stats_lock:
                self.stats["processed"] += claimed
                self.stats["last_event_at"] = timezone.now().isoformat()
        return claimed

    def _event_loop(self, batch: int, interval: float) -> None:
        """A further loop of events only (the main loop also reads images, beats and prunes), with its
        own database connection and its own wake."""
        wake = InboxWake(self.stopping)
        wake.start()
        try:
            while not self.stopping.is_set():
                try:
                    _fresh_connection()
                    claimed = self._events(batch)
                except Exception:  # as the main loop: keep going, try again shortly
                    self._failed("event loop", interval)
                    continue
                if not claimed:
                    wake.wait(interval)
        finally:
            wake.close()
            connection.close()

    def _once(self, *, batch: int, events_on: bool, sync_on: bool) -> None:
        processed = processing.drain(limit=batch) if events_on else 0
        self.stdout.write(f"processed {processed} event(s)")
        self.stdout.write(f"read {image_hooks.drain()} image manifest(s)")
        self.stdout.write(f"sent {hooks_queue.drain()} webhook delivery attempt(s)")
        if sync_on:
            strategy = option("background.sync.strategy")
            strategy = "update-delete" if strategy == "on-start" else strategy
            for report in sync.run_sync(strategy=strategy, holder=self.name):
                self.stdout.write(f"synced {report.registry}: {report.outcome} {report.summary()}")
        ldap_background.once(self.stdout.write)

    # -- catalog sync (a thread, so a long walk never delays events) ------------------------------

    def _sync_loop(self) -> None:
        strategy = option("background.sync.strategy")
        try:
            if strategy == "on-start":
                self._sync(strategy="on-start", force=True)
                return
            check_every = min(30.0, max(1.0, float(option("background.sync.interval"))))
            while not self.stopping.is_set():
                self._sync(strategy=strategy, force=False)
                self.stopping.wait(check_every)
        finally:
            connection.close()

    def _sync(self, *, strategy: str, force: bool) -> None:
        try:
            _fresh_connection()
            reports = sync.run_sync(strategy=strategy, holder=self.name, force=force,
                                    should_stop=self.stopping.is_set)
        except Exception:
            log.exception("portus_background %s: sync error", self.name)
            _drop_connection()
            return
        if reports:
            self.stats["sync"] = {"at": timezone.now().isoformat(),
                                  "registries": [r.registry for r in reports],
                                  "errors": sum(len(r.errors) for r in reports)}
