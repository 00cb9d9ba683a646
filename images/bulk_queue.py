"""Queueing many tags' digests at once (the catalog sync's batches): what `fetch.queue_tag` then
`fetch.link_orphans` do for one tag, in a handful of statements for hundreds of tags.

For each tag: its manifest is queued (once per registry and digest: a row that exists keeps its
`seen_in` and status), linked to the tag's repository (and, for an index read already, its platforms
too), given the subject a cosign tag's name names when it has none yet; and the manifests pushed by
digest to the repository's name before the repository existed here are linked to it. One tag by one
(`fetch.queue_tag`) and all at once here leave the same rows, except that an orphan is linked to the
repository it names here even when another repository's tag of the batch linked it first
(tests/sync/test_bulk_queue.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db.models import Exists, OuterRef

from images import parse
from images.models import Manifest, ManifestLink
from namespaces.models import Repository, Tag

_CHUNK = 500  # names or digests per IN (…): within every back end's limit on parameters
_ORPHANS_PER_REPOSITORY = 1000  # as fetch.link_orphans
_LINK_FIELDS = ("id", "registry_id", "digest", "status", "platforms", "subject_digest", "seen_in")


def _chunks(values: list, size: int = _CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _link_many(pairs: Iterable[tuple[Manifest, Repository]]) -> None:
    """fetch.link for many (manifest, repository) pairs."""
    pairs = list(pairs)
    rows = {(m.pk, r.pk): ManifestLink(manifest_id=m.pk, repository_id=r.pk) for m, r in pairs}
    children: dict[int, set[str]] = {}  # registry id → platform digests of indexes read already
    for manifest, _ in pairs:
        if manifest.status == Manifest.Status.DONE and manifest.platforms:
            children.setdefault(manifest.registry_id, set()).update(
                p["digest"] for p in manifest.platforms if isinstance(p, dict) and isinstance(p.get("digest"), str))
    if children:
        found: dict[tuple[int, str], int] = {}
        for registry_id, digests in children.items():
            for chunk in _chunks(sorted(digests)):
                found.update({(registry_id, digest): pk for pk, digest in Manifest.objects.filter(
                    registry_id=registry_id, digest__in=chunk).values_list("id", "digest")})
        for manifest, repository in pairs:
            if manifest.status == Manifest.Status.DONE and manifest.platforms:
                for platform in manifest.platforms:
                    child = found.get((manifest.registry_id, platform.get("digest") if isinstance(platform, dict)
                                       else None))
                    if child is not None:
                        rows[(child, repository.pk)] = ManifestLink(manifest_id=child, repository_id=repository.pk)
    ManifestLink.objects.bulk_create(list(rows.values()), ignore_conflicts=True, batch_size=_CHUNK)


def queue_tags(tags: list[Tag]) -> int:
    """fetch.queue_tag then fetch.link_orphans for every tag (each with its repository and namespace
    loaded); returns how many tags had a digest to queue."""
    wanted: dict[tuple[int, str], tuple[str, str]] = {}  # (registry id, digest) → (seen_in, subject)
    held: list[tuple[tuple[int, str], Repository]] = []
    repositories: dict[int, Repository] = {}
    for tag in tags:
        repository = tag.repository
        registry_id = repository.namespace.registry_id
        repositories[repository.pk] = repository
        if not parse.digest_of(tag.digest):
            continue
        hinted = parse.cosign_tag(tag.name)
        subject = hinted[0] if hinted is not None and hinted[1] != "referrers" else ""
        key = (registry_id, tag.digest)
        seen_in, first_subject = wanted.get(key, (repository.full_name[:512], ""))
        wanted[key] = (seen_in, first_subject or subject)
        held.append((key, repository))
    orphans = _orphans(list(repositories.values()))  # before the tags' links, which would hide some
    if wanted:
        Manifest.objects.bulk_create(
            [Manifest(registry_id=registry_id, digest=digest, seen_in=seen_in, subject_digest=subject)
             for (registry_id, digest), (seen_in, subject) in wanted.items()],
            ignore_conflicts=True, batch_size=_CHUNK)
    manifests: dict[tuple[int, str], Manifest] = {}
    for registry_id in sorted({registry_id for registry_id, _ in wanted}):
        digests = sorted(digest for r, digest in wanted if r == registry_id)
        for chunk in _chunks(digests):
            for manifest in Manifest.objects.filter(registry_id=registry_id, digest__in=chunk).only(*_LINK_FIELDS):
                manifests[(registry_id, manifest.digest)] = manifest
    for key, (_, subject) in wanted.items():
        manifest = manifests.get(key)
        if manifest is not None and subject and not manifest.subject_digest:
            Manifest.objects.filter(pk=manifest.pk, subject_digest="").update(subject_digest=subject)
            manifest.subject_digest = subject
    _link_many([(manifests[key], repository) for key, repository in held if key in manifests] + orphans)
    return len(held)


def _orphans(repositories: list[Repository]) -> list[tuple[Manifest, Repository]]:
    """What fetch.link_orphans links for every repository: (manifest, repository) pairs."""
    by_registry: dict[int, dict[str, Repository]] = {}
    for repository in repositories:
        by_registry.setdefault(repository.namespace.registry_id, {})[repository.full_name[:512]] = repository
    pairs: list[tuple[Manifest, Repository]] = []
    for registry_id, named in sorted(by_registry.items()):
        for chunk in _chunks(sorted(named)):
            orphans = (Manifest.objects.filter(registry_id=registry_id, seen_in__in=chunk)
                       .exclude(Exists(ManifestLink.objects.filter(manifest=OuterRef("pk"))))
                       .only(*_LINK_FIELDS).order_by("id")[:_ORPHANS_PER_REPOSITORY * len(chunk)])
            pairs += [(manifest, named[manifest.seen_in]) for manifest in orphans]
    return pairs
