"""What a tag's page and the API show of the image behind it, from what the background stored: no
registry call here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from images import artifacts, parse
from images.models import Blob, Manifest
from namespaces.models import Tag

MAX_SHOWN_LAYERS = parse.MAX_LAYERS
CONFIG_DEFAULTS: dict[str, Any] = {
    "created": "", "author": "", "os": "", "architecture": "", "variant": "", "user": "", "entrypoint": [],
    "cmd": [], "env": [], "exposed_ports": [], "working_dir": "", "labels": {}, "stop_signal": "",
}


@dataclass
class ImageView:
    """One manifest as shown: its rows, what an index holds, what sits beside it."""

    status: str  # "pending" (not read yet), "done", "failed"
    digest: str
    media_type: str = ""
    kind: str = ""
    total_size: int = 0
    created: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    layers: list[dict[str, Any]] = field(default_factory=list)
    config_blob: dict[str, Any] | None = None
    platforms: list[dict[str, Any]] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    error: str = ""
    beside: artifacts.Beside = field(default_factory=artifacts.Beside)

    @property
    def source_url(self) -> str:
        return parse.source_url(self.annotations.get(parse.SOURCE_ANNOTATION, "") or
                                self.config.get("labels", {}).get(parse.SOURCE_ANNOTATION, ""))

    @property
    def description(self) -> str:
        return (self.annotations.get(parse.DESCRIPTION_ANNOTATION, "") or
                self.config.get("labels", {}).get(parse.DESCRIPTION_ANNOTATION, ""))

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status, "digest": self.digest, "media_type": self.media_type, "kind": self.kind,
            "total_size": self.total_size,
            "config": {**CONFIG_DEFAULTS, **self.config} if self.config else None, "annotations": self.annotations,
            "source_url": self.source_url or None, "description": self.description or None,
            "config_blob": self.config_blob, "layers": self.layers, "platforms": self.platforms,
            "truncated": self.truncated, "error": self.error or None,
            "signed": self.beside.signed, "verified_by": self.beside.verified_by,
            "referrers": [{"digest": r.digest, "kind": r.kind, "badge": r.badge, "tag": r.tag or None,
                           "artifact_type": r.artifact_type or None, "verified_by": r.verified_by,
                           "signatures": r.signatures} for r in self.beside.referrers],
        }


def image_view(tag: Tag, *, platform_digest: str = "") -> ImageView:
    """The tag's image (or, with `platform_digest`, one platform of its index) as stored. Five queries."""
    repository = tag.repository
    registry_id = repository.namespace.registry_id
    digest = tag.digest
    row = Manifest.objects.filter(registry_id=registry_id, digest=digest).first()
    if platform_digest and row is not None and any(p["digest"] == platform_digest for p in row.platforms):
        digest = platform_digest
        row = Manifest.objects.filter(registry_id=registry_id, digest=digest).first()
    if row is None or row.status == Manifest.Status.PENDING and row.fetched_at is None:
        view = ImageView(status=Manifest.Status.PENDING, digest=digest)
    else:
        view = ImageView(status=row.status, digest=digest, media_type=row.media_type, kind=row.kind,
                         total_size=row.total_size, config=row.config or {}, annotations=row.annotations or {},
                         platforms=[p for p in row.platforms if not p.get("attestation")],
                         truncated=list(row.truncated or []), error=row.last_error if row.status == "failed" else "")
        for blob in Blob.objects.filter(manifest=row).order_by("position")[:MAX_SHOWN_LAYERS + 1]:
            shown = {"digest": blob.digest, "size": blob.size, "media_type": blob.media_type,
                     "created_by": blob.created_by}
            if blob.role == Blob.Role.CONFIG:
                view.config_blob = shown
            else:
                view.layers.append(shown)
    view.beside = artifacts.beside(repository, [tag.digest]).get(tag.digest, artifacts.Beside())
    return view
