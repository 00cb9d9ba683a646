"""What the registry client reads: manifest media types, manifests and the details a tag shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
# Without the OCI types a registry answers 404 for OCI images (Portus issue #2220).
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    body: bytes
    data: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES or (
            not self.media_type and isinstance(self.data.get("manifests"), list)
        )


@dataclass(frozen=True)
class ImageDetails:
    """What a tag shows: digest, media type, image id (config digest), compressed size, platforms."""

    digest: str
    media_type: str
    image_id: str
    size: int
    platforms: list[dict[str, Any]]


def size_of(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def image_size(data: dict[str, Any]) -> int:
    """config.size + sum(layers[].size): the compressed size, as the registry stores it."""
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    layers = data.get("layers") if isinstance(data.get("layers"), list) else []
    return size_of(config.get("size")) + sum(size_of(layer.get("size")) for layer in layers if isinstance(layer, dict))


def is_attestation(entry: dict[str, Any]) -> bool:
    annotations = entry.get("annotations") if isinstance(entry.get("annotations"), dict) else {}
    platform = entry.get("platform") if isinstance(entry.get("platform"), dict) else {}
    return annotations.get("vnd.docker.reference.type") == "attestation-manifest" or (
        platform.get("os") == "unknown" and platform.get("architecture") == "unknown"
    )
