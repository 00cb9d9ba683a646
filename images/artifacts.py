"""Signatures, SBOMs and attestations beside the image they describe.

Two ways an artifact names its image: cosign's fallback tags (`sha256-<hex>.sig`, `.att`, `.sbom`, and
the OCI 1.1 referrers tag `sha256-<hex>` listing referrers in an index), and the OCI 1.1 `subject` of a
manifest pushed by digest or by tag. Both are grouped under their subject, hidden from ordinary tag lists
(one more condition in the list's own query: no query per row) and deleted with it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from images import parse, signatures
from images.models import ARTIFACT_KINDS, Kind, Manifest, ManifestLink, SigningKey
from namespaces.models import Namespace, Repository, Tag

COSIGN_TAG_REGEX = r"^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$"
BADGES = {Kind.SIGNATURE: "signed", Kind.SBOM: "SBOM", Kind.ATTESTATION: "attestation", Kind.ARTIFACT: "artifact"}


def artifact_tags_q() -> Q:
    """Tags that are artifacts: a cosign tag name, or a manifest with an OCI 1.1 subject."""
    with_subject = Manifest.objects.filter(digest=OuterRef("digest")).exclude(subject_digest="")
    return Q(name__regex=COSIGN_TAG_REGEX) | Q(Exists(with_subject))


def ordinary_tags(queryset: QuerySet[Tag]) -> QuerySet[Tag]:
    """The tags a tag list shows: artifacts are shown beside their image instead."""
    return queryset.exclude(artifact_tags_q())


def tags_count_expression():
    """What Repository.tags_count should be, for an update of repositories: their ordinary tags counted
    (artifacts are counted with their image, not as tags)."""
    count = (ordinary_tags(Tag.objects.filter(repository=OuterRef("pk"))).order_by().values("repository")
             .annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(count, output_field=IntegerField()), Value(0))


def recount_tags(repository_ids) -> None:
    """Sets Repository.tags_count to the number of ordinary tags, in one statement: safe beside the other
    writers of the counter."""
    Repository.objects.filter(pk__in=repository_ids).update(tags_count=tags_count_expression())


@dataclass
class Referrer:
    digest: str
    kind: str
    artifact_type: str = ""
    tag: str = ""
    verified_by: list[str] = field(default_factory=list)
    signatures: int = 0
    status: str = ""

    @property
    def badge(self) -> str:
        return BADGES.get(self.kind, "artifact")


@dataclass
class Beside:
    """What sits beside one image: its referrers and a summary for the badges."""

    referrers: list[Referrer] = field(default_factory=list)

    @property
    def verified_by(self) -> list[str]:
        return sorted({name for r in self.referrers for name in r.verified_by})

    @property
    def signed(self) -> bool:
        return any(r.kind == Kind.SIGNATURE for r in self.referrers)

    @property
    def badges(self) -> list[str]:
        kinds = {r.kind for r in self.referrers if r.kind != Kind.SIGNATURE}
        return [BADGES[k] for k in (Kind.SBOM, Kind.ATTESTATION, Kind.ARTIFACT) if k in kinds]


def trusted_keys(namespace: Namespace) -> list[signatures.TrustedKey]:
    return [signatures.TrustedKey(name=k.name, pem=k.pem) for k in SigningKey.objects.filter(namespace=namespace)]


def beside(repository: Repository, digests: list[str], *, keys: list[signatures.TrustedKey] | None = None,
           ) -> dict[str, Beside]:
    """digest → what sits beside it in this repository, for a page of digests: three queries at most."""
    digests = [d for d in digests if d]
    found: dict[str, Beside] = defaultdict(Beside)
    if not digests:
        return found
    registry_id = repository.namespace.registry_id
    wanted = {f"sha256-{d.split(':', 1)[1]}": d for d in digests if d.startswith("sha256:")}
    names = [f"{prefix}{suffix}" for prefix in wanted for suffix in ("", ".sig", ".att", ".sbom")]
    tagged = list(Tag.objects.filter(repository=repository, name__in=names).values_list("name", "digest"))
    linked = Manifest.objects.filter(registry_id=registry_id, subject_digest__in=digests).filter(
        Exists(ManifestLink.objects.filter(manifest=OuterRef("pk"), repository=repository)))
    rows = {m.digest: m for m in Manifest.objects.filter(registry_id=registry_id).filter(
        Q(digest__in=[d for _, d in tagged]) | Q(pk__in=linked.values("pk")))}
    keys = trusted_keys(repository.namespace) if keys is None else keys
    seen: set[tuple[str, str]] = set()

    def add(subject: str, digest: str, tag: str, hinted: str) -> None:
        if (subject, digest) in seen or digest == subject:
            return
        seen.add((subject, digest))
        row = rows.get(digest)
        kind = row.kind if row is not None and row.kind in ARTIFACT_KINDS else hinted
        if kind not in ARTIFACT_KINDS:
            return
        referrer = Referrer(digest=digest, kind=kind, tag=tag, artifact_type=row.artifact_type if row else "",
                            status=row.status if row else Manifest.Status.PENDING)
        if row is not None and kind == Kind.SIGNATURE:
            referrer.signatures = len(row.signatures)
            for entry in row.signatures:
                name = signatures.verify(payload_b64=entry.get("payload", ""), signature_b64=entry.get("signature", ""),
                                         subject_digest=subject, keys=keys)
                if name and name not in referrer.verified_by:
                    referrer.verified_by.append(name)
        found[subject].referrers.append(referrer)

    for name, digest in tagged:
        hinted = parse.cosign_tag(name)
        if hinted is None:
            continue
        subject, kind = hinted
        if kind == "referrers":
            index = rows.get(digest)
            for platform in (index.platforms if index is not None else []):
                child = rows.get(platform["digest"])
                if child is not None and child.subject_digest == subject:
                    add(subject, child.digest, "", child.kind)
            continue
        add(subject, digest, name, kind)
    for row in rows.values():
        if row.subject_digest in digests:
            add(row.subject_digest, row.digest, "", row.kind)
    for entry in found.values():
        entry.referrers.sort(key=lambda r: (r.kind, r.tag, r.digest))
    return found


def referrer_digests(*, repository: Repository, digest: str) -> list[str]:
    """The digests that go with `digest` when it is deleted: its cosign tags' manifests and the manifests
    this repository holds whose subject it is (and theirs in turn, a signature of an SBOM: two levels)."""
    out: list[str] = []
    subjects = [digest]
    for _ in range(2):
        found: list[str] = []
        for subject in subjects:
            if not subject.startswith("sha256:"):
                continue
            prefix = f"sha256-{subject.split(':', 1)[1]}"
            names = [prefix + suffix for suffix in ("", ".sig", ".att", ".sbom")]
            found += Tag.objects.filter(repository=repository, name__in=names).values_list("digest", flat=True)
        found += Manifest.objects.filter(registry_id=repository.namespace.registry_id, subject_digest__in=subjects,
                                         links__repository=repository).values_list("digest", flat=True)
        found = [d for d in dict.fromkeys(found) if d != digest and d not in out]
        out += found
        subjects = found
    return out


def forget(*, repository: Repository, digest: str) -> None:
    """The repository no longer holds the manifest (deleted): it stops counting in its storage. A tag
    still on it (another tag of the same digest kept) keeps it."""
    if Tag.objects.filter(repository=repository, digest=digest).exists():
        return
    ManifestLink.objects.filter(repository=repository, manifest__digest=digest).delete()
