"""Reading a registry for the catalog sync: each repository's tags and changed manifests, a few at a time.

Concurrency. The catalog itself is one cursor (each page names the next) and is read in order; the
repositories it lists are read by a small, bounded pool of threads. A thread only talks HTTP and mints
the internal account's tokens (which reads the database through the thread's own connection, closed
when the thread ends). Nothing here writes: the plan is applied afterwards by one thread. A caller
inside a transaction reads in its own thread, as other connections cannot see what it has not committed.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from registries.client import ManifestUnknown, RegistryClient, pull_groups

# Distribution's tag grammar; a name outside it cannot be a tag here (nor be stored: 128 characters).
TAG_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")


@dataclass(frozen=True)
class TagWrite:
    """A tag to add or repoint, as the registry showed it at `observed_at`."""

    tag: str
    digest: str
    media_type: str
    image_id: str
    size: int
    platforms: list[dict[str, Any]]
    observed_at: datetime
    created: bool


@dataclass
class RepositoryRead:
    """One listed repository: what to write, and which tags known here it no longer lists."""

    name: str
    new: bool
    listed_at: datetime
    writes: list[TagWrite] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def read_repository(client: RegistryClient, name: str, known: dict[str, str] | None) -> RepositoryRead:
    """Lists the tags, asks each known one where it points (HEAD) and reads only the manifests that differ
    from `known` (tag → digest here; None when the repository is new here); a tag new here is read by
    tag at once."""
    current = known or {}
    read = RepositoryRead(name=name, new=known is None, listed_at=timezone.now())
    listed = client.tags(name)
    for tag in listed:
        if not TAG_NAME_RE.match(tag):
            continue  # nothing here can have that name, so skipping it hides nothing
        observed_at = timezone.now()
        if tag not in current:
            details = client.tag_details(name, tag)  # new here: one GET by tag
            if details is None:
                continue  # gone since it was listed
        else:
            digest = client.manifest_digest(name, tag)  # known: a HEAD says whether it moved
            if digest is None or current.get(tag) == digest:
                continue  # gone since it was listed, or unchanged
            try:
                details = client.image_details(name, digest)
            except ManifestUnknown:
                continue  # deleted while we looked
        read.writes.append(TagWrite(tag=tag, digest=details.digest, media_type=details.media_type,
                                    image_id=details.image_id, size=details.size, platforms=details.platforms,
                                    observed_at=observed_at, created=tag not in current))
    read.removed = sorted(set(current) - set(listed))
    return read


Outcome = RepositoryRead | Exception


def _attempt(client: RegistryClient, name: str, known: dict[str, str] | None) -> Outcome:
    try:
        return read_repository(client, name, known)
    except Exception as exc:  # noqa: BLE001 - any failure of one repository is reported, never lost
        return exc


def _read_group(client: RegistryClient, group: list[str], known: dict[str, dict[str, str]],
                stop: Callable[[], bool]) -> Iterator[tuple[str, Outcome]]:
    """Reads a group of repositories with one token for all of them (registries/client.py pull_groups).
    When that token cannot be minted, each repository is read with its own, and fails on its own."""
    try:
        holder = client.hold_pull_token(group)
    except Exception:  # noqa: BLE001 - each read below then reports its own failure
        holder = client
    for name in group:
        if stop():
            return
        yield name, _attempt(holder, name, known.get(name))


def read_repositories(*, client: RegistryClient, names: list[str], known: dict[str, dict[str, str]],
                      workers: int, should_stop: Callable[[], bool] | None = None,
                      ) -> Iterator[tuple[str, Outcome]]:
    """Yields (name, its read or the exception that stopped it) for every name, in the order they finish.
    Each thread takes a group of names at a time, read with one token. The caller may stop early by
    closing the iterator: the threads then take no new group."""
    stop = should_stop or (lambda: False)
    # As many names per token as fit, but never so few groups that some threads would have none.
    groups = pull_groups(names, max_count=-(-len(names) // max(workers, 1)) if names else 1)
    if workers <= 1 or len(names) <= 1 or connection.in_atomic_block:
        for group in groups:
            yield from _read_group(client, group, known, stop)
            if stop():
                return
        return
    tasks: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
    for group in groups:
        tasks.put(group)
    done: queue.SimpleQueue[tuple[str, Outcome]] = queue.SimpleQueue()
    halt = threading.Event()

    def work() -> None:
        try:
            while not halt.is_set():
                try:
                    group = tasks.get_nowait()
                except queue.Empty:
                    return
                for item in _read_group(client, group, known, halt.is_set):
                    done.put(item)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, name=f"portus-sync-read-{i}", daemon=True)
               for i in range(min(workers, len(groups)))]
    for thread in threads:
        thread.start()
    try:
        for _ in names:
            while True:
                if stop():
                    return
                try:
                    yield done.get(timeout=0.2)
                    break
                except queue.Empty:
                    if not any(thread.is_alive() for thread in threads) and done.empty():
                        return  # cannot happen (workers catch everything); the caller counts what is missing
    finally:
        halt.set()
        for thread in threads:
            thread.join(timeout=60)
