"""The one planning function: which images of a repository a rule deletes, and why every other tag stays.

Pure: facts in (tags, the rule, index children read from the registry, the time), plan out; no database,
no registry. A dry run stores this plan; a real run stores the same plan and then executes exactly it
(retention/execution.py), so what a dry run lists is what a real run deletes.

Decisions, in order, for each tag of a repository:
1. not matched by the rule's `include` globs (when it has any) → kept;
2. matched by a `protect` glob → kept;
3. among the `keep_latest` newest of the remaining tags (by push time, then name) → kept;
4. pushed less than `older_than_days` ago, or pulled less than `not_pulled_days` ago → kept;
5. otherwise the tag may go.
The registry deletes manifests, not tags (DELETE /v2/<name>/manifests/<digest> untags every tag on it), so
the unit of deletion is a digest, and then:
- a digest is deleted only when every tag on it (in this repository) may go (Portus deleted `latest`
  with an old tag on the same digest: #2238, #2241, #2330);
- a manifest that is a platform of a kept index (directly or through nested indexes) is kept: deleting it
  would break the index;
- an index is deleted only when none of its platforms is itself tagged by a kept tag;
and each such reprieve can keep more, so the rules are applied until nothing changes. Indexes come first
in the plan, so an interrupted run never leaves an index whose platforms are gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from retention import patterns


@dataclass(frozen=True)
class RuleSpec:
    label: str
    older_than_days: int | None = None
    not_pulled_days: int | None = None
    keep_latest: int = 0
    include: tuple[str, ...] = ()
    protect: tuple[str, ...] = ()


@dataclass(frozen=True)
class TagFact:
    name: str
    digest: str
    pushed_at: datetime | None
    pulled_at: datetime | None = None
    media_type: str = ""
    is_index: bool = False


@dataclass(frozen=True)
class RepositoryFacts:
    repository_id: int
    name: str
    rule: RuleSpec
    tags: tuple[TagFact, ...]
    # index digest → every manifest digest it lists (read from the registry)
    children: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # index digest → why its children could not be read (such an index is never deleted)
    unreadable: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Deletion:
    repository_id: int
    repository: str
    digest: str
    tags: tuple[str, ...]
    media_type: str
    reason: str


@dataclass(frozen=True)
class Kept:
    repository_id: int
    repository: str
    tag: str
    digest: str
    reason: str


@dataclass
class Plan:
    deletions: list[Deletion] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)

    def deleted_pairs(self) -> list[tuple[str, str]]:
        """(repository, tag) of every tag the plan deletes, sorted: what tests compare."""
        return sorted((d.repository, t) for d in self.deletions for t in d.tags)


def _days(delta: timedelta) -> int:
    return max(0, delta.days)


def _newest_first(tag: TagFact) -> tuple:
    # Unknown push times sort last (oldest); names break ties, so the order never depends on input order.
    return (tag.pushed_at is None, -(tag.pushed_at.timestamp()) if tag.pushed_at else 0.0, tag.name)


def _tag_verdicts(facts: RepositoryFacts, now: datetime) -> dict[str, str | None]:
    """tag name → why it is kept, or None when it may go (rules 1–5), plus the reasons it may go."""
    rule = facts.rule
    verdict: dict[str, str | None] = {}
    candidates = []
    for tag in facts.tags:
        if rule.include and patterns.first_match(list(rule.include), tag.name) is None:
            verdict[tag.name] = "not matched by the rule's include patterns"
            continue
        protected = patterns.first_match(list(rule.protect), tag.name)
        if protected is not None:
            verdict[tag.name] = f"protected by pattern {protected}"
            continue
        candidates.append(tag)
    for rank, tag in enumerate(sorted(candidates, key=_newest_first)):
        if rank < rule.keep_latest:
            verdict[tag.name] = f"one of the {rule.keep_latest} latest"
        elif rule.older_than_days and tag.pushed_at is None:
            verdict[tag.name] = "push time unknown"
        elif rule.older_than_days and tag.pushed_at > now - timedelta(days=rule.older_than_days):
            verdict[tag.name] = (f"pushed {_days(now - tag.pushed_at)} days ago "
                                 f"(rule: older than {rule.older_than_days})")
        elif rule.not_pulled_days and tag.pulled_at is not None and (
                tag.pulled_at > now - timedelta(days=rule.not_pulled_days)):
            verdict[tag.name] = (f"pulled {_days(now - tag.pulled_at)} days ago "
                                 f"(rule: not pulled for {rule.not_pulled_days})")
        else:
            verdict[tag.name] = None
    return verdict


def _why_deleted(tag: TagFact, rule: RuleSpec, now: datetime) -> str:
    parts = []
    if rule.older_than_days and tag.pushed_at is not None:
        parts.append(f"pushed {_days(now - tag.pushed_at)} days ago")
    if rule.not_pulled_days:
        parts.append("never pulled" if tag.pulled_at is None else f"last pulled {_days(now - tag.pulled_at)} days ago")
    if rule.keep_latest:
        parts.append(f"not one of the {rule.keep_latest} latest")
    return ", ".join(parts) or "matched by the rule"


def _needed_by(kept_digests: dict[str, str], children: Mapping[str, frozenset[str]]) -> dict[str, str]:
    """digest → the kept tag whose index (directly or through nested indexes) lists it."""
    needed: dict[str, str] = {}
    stack = sorted(kept_digests.items())
    while stack:
        digest, tag = stack.pop()
        for child in sorted(children.get(digest, ())):
            if child not in needed:
                needed[child] = tag
                stack.append((child, tag))
    return needed


def plan_repository(facts: RepositoryFacts, now: datetime) -> Plan:
    """The plan for one repository (see the module for the rules)."""
    verdict = _tag_verdicts(facts, now)
    by_digest: dict[str, list[TagFact]] = {}
    for tag in facts.tags:
        by_digest.setdefault(tag.digest, []).append(tag)
    kept_reason: dict[str, str] = {name: why for name, why in verdict.items() if why is not None}
    # digest → one kept tag on it (the first by name), which the reasons below name
    kept_digests: dict[str, str] = {}
    for digest, tags in by_digest.items():
        staying = sorted(t.name for t in tags if t.name in kept_reason)
        if staying:
            kept_digests[digest] = staying[0]
            for tag in tags:
                kept_reason.setdefault(tag.name, f"shares its image with the kept tag {staying[0]}")
    going = {d for d in by_digest if d not in kept_digests}

    def reprieve(digest: str, why: str) -> None:
        for tag in by_digest[digest]:
            kept_reason[tag.name] = why
        kept_digests[digest] = min(t.name for t in by_digest[digest])
        going.discard(digest)

    # Each pass keeps what the keeps so far protect; every condition only grows with the kept set, so
    # the passes end in the same (least) fixed point whatever the order, after at most as many passes
    # as indexes nest.
    changed = True
    while changed:
        changed = False
        needed = _needed_by(kept_digests, facts.children)
        for digest in sorted(going):
            if digest in needed:
                reprieve(digest, f"a platform of the kept index tag {needed[digest]}")
            elif digest in facts.unreadable:
                reprieve(digest, f"its platforms could not be read from the registry: {facts.unreadable[digest]}")
            else:
                shared = sorted(c for c in facts.children.get(digest, ()) if c in kept_digests)
                if not shared:
                    continue
                reprieve(digest, f"its platform {shared[0][:19]}… is also the kept tag {kept_digests[shared[0]]}")
            changed = True

    plan = Plan()
    for tag in sorted(facts.tags, key=lambda t: t.name):
        if tag.digest not in going:
            plan.kept.append(Kept(facts.repository_id, facts.name, tag.name, tag.digest, kept_reason[tag.name]))
    for digest in sorted(going, key=lambda d: (not _is_index(by_digest[d], facts), d)):
        tags = sorted(by_digest[digest], key=lambda t: t.name)
        newest = sorted(tags, key=_newest_first)[0]
        plan.deletions.append(Deletion(facts.repository_id, facts.name, digest, tuple(t.name for t in tags),
                                       newest.media_type, _why_deleted(newest, facts.rule, now)))
    return plan


def _is_index(tags: list[TagFact], facts: RepositoryFacts) -> bool:
    return any(t.is_index for t in tags) or tags[0].digest in facts.children


def plan_all(repositories: Iterable[RepositoryFacts], now: datetime) -> Plan:
    """The plan of a run: each repository's, in the order of their names."""
    plan = Plan()
    for facts in sorted(repositories, key=lambda f: (f.name, f.repository_id)):
        part = plan_repository(facts, now)
        plan.deletions += part.deletions
        plan.kept += part.kept
    return plan
