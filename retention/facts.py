"""What the planner is given: each repository's tags (from the mirror), its rule, and the children of its
indexes (read from the registry as the internal account, only where they could change the plan)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from namespaces.models import Namespace, Repository, Tag
from registries import client as registry_client
from registries.client import ManifestUnknown, RegistryError
from retention import planner
from retention.rules import Resolver, spec

log = logging.getLogger(__name__)
_MAX_ERRORS_KEPT = 50


@dataclass
class Gathered:
    repositories: list[planner.RepositoryFacts] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: int = 0  # repositories whose rule is disabled

    def error(self, message: str) -> None:
        log.warning("retention: %s", message)
        if len(self.errors) < _MAX_ERRORS_KEPT:
            self.errors.append(message[:1000])


def _tag_facts(tags: list[Tag]) -> tuple[planner.TagFact, ...]:
    return tuple(planner.TagFact(name=t.name, digest=t.digest, pushed_at=t.pushed_at or t.created_at,
                                 pulled_at=t.pulled_at, media_type=t.media_type, is_index=t.is_index)
                 for t in tags)


def _children(client, repository: Repository, digest: str, mirror: list[str],
              ) -> tuple[frozenset[str] | None, str]:
    """The manifests an index lists, read from the registry: (children, '') or (None, why not). An index
    the registry no longer has is read from the mirror's platforms (its delete will find it gone)."""
    try:
        manifest = client.get_manifest(repository.full_name, digest)
    except ManifestUnknown:
        return frozenset(mirror), ""
    except RegistryError as exc:
        return None, f"{exc.__class__.__name__}: {exc}"[:300]
    if not manifest.is_index:
        return frozenset(), ""
    entries = manifest.data.get("manifests") if isinstance(manifest.data.get("manifests"), list) else []
    return frozenset(e["digest"] for e in entries if isinstance(e, dict) and isinstance(e.get("digest"), str)), ""


def repository_facts(repository: Repository, rule_spec: planner.RuleSpec, now: datetime,
                     gathered: Gathered) -> planner.RepositoryFacts:
    """One repository's facts. Index children only change keeps, never add a deletion, so they are read
    only when the plan without them deletes something."""
    tags = list(Tag.objects.filter(repository=repository).order_by("name"))
    facts = planner.RepositoryFacts(repository_id=repository.pk, name=repository.full_name, rule=rule_spec,
                                    tags=_tag_facts(tags))
    if not planner.plan_repository(facts, now).deletions:
        return facts
    client = registry_client.RegistryClient(repository.namespace.registry)
    children: dict[str, frozenset[str]] = {}
    unreadable: dict[str, str] = {}
    for digest in sorted({t.digest for t in tags if t.is_index or "index" in t.media_type
                          or "manifest.list" in t.media_type}):
        mirror = [p.get("digest") for t in tags if t.digest == digest for p in t.platforms
                  if isinstance(p, dict) and isinstance(p.get("digest"), str)]
        read, why = _children(client, repository, digest, mirror)
        if read is None:
            unreadable[digest] = why
            gathered.error(f"{repository.full_name}@{digest}: its platforms could not be read: {why}")
            children[digest] = frozenset(mirror)  # still protects what the mirror knows it lists
        else:
            children[digest] = read
    return planner.RepositoryFacts(repository_id=repository.pk, name=repository.full_name, rule=rule_spec,
                                   tags=facts.tags, children=children, unreadable=unreadable)


def gather(*, namespace: Namespace | None, now: datetime, tick: Callable[[], None] | None = None) -> Gathered:
    """Facts of every repository in scope (one namespace, or all) whose rule is enabled. Retired namespaces
    are left out: admins purge them as a whole (namespaces/retirement.py). `tick` is called after each
    repository (the run renews its lease there)."""
    resolver = Resolver()
    gathered = Gathered()
    repositories = Repository.objects.with_namespace().filter(namespace__retired_at__isnull=True)
    if namespace is not None:
        repositories = repositories.filter(namespace=namespace)
    for repository in list(repositories.order_by("id")):
        rule = resolver.rule(repository)
        if not rule.enabled:
            gathered.skipped += 1
            continue
        gathered.repositories.append(repository_facts(repository, spec(rule), now, gathered))
        if tick is not None:
            tick()
    return gathered
