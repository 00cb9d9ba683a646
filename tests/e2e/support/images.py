"""Test images built from nothing: OCI image layouts and plain rootfs tarballs.

Pure standard library, no network. Everything is deterministic: the same ``files`` give the same
bytes and therefore the same digests (tar entries sorted, mtime/uid/gid fixed, gzip header mtime 0),
so a test can compute, before pushing, the digests and sizes the registry will report.

- :func:`write_oci_layout` writes an OCI image layout directory holding one image (one manifest)
  that ``skopeo copy oci:DIR:TAG docker://…`` pushes as is (the digest does not change on push,
  because skopeo keeps OCI manifests byte for byte when the destination accepts them).
- :func:`write_oci_index_layout` writes a layout whose tag points at an OCI image index with one
  full image per platform (``skopeo copy --all`` pushes the index and every child).
- :func:`write_rootfs_tarball` writes a plain, uncompressed tar for ``docker import`` /
  ``podman import``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

OCI_LAYOUT_VERSION = "1.0.0"
MEDIA_TYPE_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_TYPE_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_TYPE_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_TYPE_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"

# Fixed timestamps keep the output reproducible.
FIXED_MTIME = 946684800  # 2000-01-01T00:00:00Z
FIXED_CREATED = "2000-01-01T00:00:00Z"

DEFAULT_PLATFORMS: tuple[tuple[str, str], ...] = (("linux", "amd64"), ("linux", "arm64"))


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def as_dict(self) -> dict[str, str]:
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out

    def __str__(self) -> str:  # "linux/arm64" or "linux/arm/v7", as clients spell it
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True)
class ImageInfo:
    """What a single-platform image is made of, as the registry will report it after a push."""

    path: Path  # the layout directory (for a child of an index: the layout holding the index)
    tag: str | None  # the ref.name in index.json; None for a child of an index
    digest: str  # "sha256:…" of the manifest bytes
    media_type: str  # MEDIA_TYPE_OCI_MANIFEST
    manifest_size: int  # length of the manifest bytes
    manifest: bytes  # the exact manifest bytes
    config_digest: str
    config_size: int
    layer_digests: tuple[str, ...]  # compressed (gzip) blobs, in order
    layer_sizes: tuple[int, ...]
    diff_ids: tuple[str, ...]  # sha256 of the uncompressed tars, as in config.rootfs.diff_ids
    platform: Platform
    size: int  # config_size + sum(layer_sizes): the "compressed size" of the image

    @property
    def compressed_size(self) -> int:
        return self.size

    @property
    def blob_digests(self) -> tuple[str, ...]:
        """Config and layers: every blob a push uploads."""
        return (self.config_digest, *self.layer_digests)

    def ref(self) -> str:
        """The skopeo source reference ``oci:DIR:TAG`` (only for a top-level image)."""
        if self.tag is None:
            raise ValueError("a child of an index has no tag of its own; use the index's ref()")
        return f"oci:{self.path}:{self.tag}"


@dataclass(frozen=True)
class IndexInfo:
    """A multi-platform image: an OCI image index and its children."""

    path: Path
    tag: str
    digest: str  # "sha256:…" of the index bytes
    media_type: str  # MEDIA_TYPE_OCI_INDEX
    size: int  # length of the index bytes
    index: bytes  # the exact index bytes
    children: tuple[ImageInfo, ...] = field(default_factory=tuple)

    @property
    def platforms(self) -> tuple[Platform, ...]:
        return tuple(child.platform for child in self.children)

    def child(self, platform: str) -> ImageInfo:
        """The child for "os/arch" or "os/arch/variant"."""
        for c in self.children:
            if str(c.platform) == platform or f"{c.platform.os}/{c.platform.architecture}" == platform:
                return c
        raise KeyError(platform)

    def ref(self) -> str:
        return f"oci:{self.path}:{self.tag}"


# --- low-level helpers ------------------------------------------------------------------------------


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj) -> bytes:
    """JSON as the images here are written: sorted keys, no spaces (stable across runs)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _normalise(files: Mapping[str, bytes | str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name, data in files.items():
        clean = os.path.normpath("/" + name.replace("\\", "/")).lstrip("/")
        if not clean or clean == ".":
            raise ValueError(f"invalid file name {name!r}")
        out[clean] = data.encode() if isinstance(data, str) else bytes(data)
    return out


def build_tar(files: Mapping[str, bytes | str]) -> bytes:
    """An uncompressed, reproducible tar of ``files`` (parent directories added, 0755 / 0644, root-owned)."""
    norm = _normalise(files)
    dirs: set[str] = set()
    for name in norm:
        parent = os.path.dirname(name)
        while parent:
            dirs.add(parent)
            parent = os.path.dirname(parent)
    clash = dirs & set(norm)
    if clash:
        raise ValueError(f"paths used both as file and directory: {sorted(clash)}")

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(dirs | set(norm)):
            info = tarfile.TarInfo(name)
            info.mtime = FIXED_MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if name in norm:
                info.type = tarfile.REGTYPE
                info.mode = 0o755 if name.startswith(("bin/", "usr/bin/")) else 0o644
                info.size = len(norm[name])
                tar.addfile(info, io.BytesIO(norm[name]))
            else:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    """gzip with no file name and mtime 0 in the header, so equal input gives equal output."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buf.getvalue()


class _BlobStore:
    def __init__(self, layout: Path):
        self.dir = layout / "blobs" / "sha256"
        self.dir.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes) -> tuple[str, int]:
        digest = sha256_digest(data)
        target = self.dir / digest.split(":", 1)[1]
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
        return digest, len(data)


def _platform(spec: Sequence[str] | Platform) -> Platform:
    if isinstance(spec, Platform):
        return spec
    if isinstance(spec, str):
        spec = spec.split("/")
    if len(spec) == 2:
        return Platform(os=spec[0], architecture=spec[1])
    if len(spec) == 3:
        return Platform(os=spec[0], architecture=spec[1], variant=spec[2] or None)
    raise ValueError(f"platform must be (os, arch) or (os, arch, variant), got {spec!r}")


def _write_image(
    store: _BlobStore,
    layout: Path,
    *,
    layers: Sequence[Mapping[str, bytes | str]],
    platform: Platform,
    tag: str | None,
    labels: Mapping[str, str] | None,
) -> ImageInfo:
    layer_digests: list[str] = []
    layer_sizes: list[int] = []
    diff_ids: list[str] = []
    for files in layers:
        raw = build_tar(files)
        diff_ids.append(sha256_digest(raw))
        digest, size = store.put(gzip_bytes(raw))
        layer_digests.append(digest)
        layer_sizes.append(size)

    config = {
        "created": FIXED_CREATED,
        "architecture": platform.architecture,
        "os": platform.os,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "Labels": dict(labels or {}),
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": FIXED_CREATED, "created_by": "tests/e2e/support/images.py"} for _ in layers],
    }
    if platform.variant:
        config["variant"] = platform.variant
    config_digest, config_size = store.put(canonical_json(config))

    manifest_obj = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_OCI_MANIFEST,
        "config": {"mediaType": MEDIA_TYPE_OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [
            {"mediaType": MEDIA_TYPE_OCI_LAYER_GZIP, "digest": d, "size": s}
            for d, s in zip(layer_digests, layer_sizes, strict=True)
        ],
    }
    manifest = canonical_json(manifest_obj)
    digest, manifest_size = store.put(manifest)
    return ImageInfo(
        path=layout,
        tag=tag,
        digest=digest,
        media_type=MEDIA_TYPE_OCI_MANIFEST,
        manifest_size=manifest_size,
        manifest=manifest,
        config_digest=config_digest,
        config_size=config_size,
        layer_digests=tuple(layer_digests),
        layer_sizes=tuple(layer_sizes),
        diff_ids=tuple(diff_ids),
        platform=platform,
        size=config_size + sum(layer_sizes),
    )


def _write_index_json(layout: Path, entries: Iterable[dict]) -> None:
    """(Re)write index.json, keeping entries for other tags already in the layout."""
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": OCI_LAYOUT_VERSION}))
    index_path = layout / "index.json"
    new = list(entries)
    new_tags = {e.get("annotations", {}).get(ANNOTATION_REF_NAME) for e in new}
    kept: list[dict] = []
    if index_path.exists():
        old = json.loads(index_path.read_bytes())
        kept = [
            e
            for e in old.get("manifests", [])
            if e.get("annotations", {}).get(ANNOTATION_REF_NAME) not in new_tags
        ]
    index = {"schemaVersion": 2, "mediaType": MEDIA_TYPE_OCI_INDEX, "manifests": kept + new}
    index_path.write_bytes(canonical_json(index))


# --- public builders --------------------------------------------------------------------------------


def write_oci_layout(
    path: str | os.PathLike,
    *,
    files: Mapping[str, bytes | str],
    tag: str = "latest",
    architecture: str = "amd64",
    os: str = "linux",
    variant: str | None = None,
    extra_layers: Sequence[Mapping[str, bytes | str]] = (),
    labels: Mapping[str, str] | None = None,
) -> ImageInfo:
    """Write (or add a tag to) an OCI image layout at ``path`` with one single-platform image.

    ``files`` maps paths inside the image ("etc/motd") to contents; they form the first layer, and each
    mapping in ``extra_layers`` one more layer. Writing another tag into the same directory keeps the
    existing ones (blobs are shared), so one layout can hold several tags.

    Push it with ``skopeo copy --dest-tls-verify=false oci:PATH:TAG docker://127.0.0.1:PORT/ns/repo:TAG``;
    the registry then serves the manifest under ``info.digest``.
    """
    layout = Path(path)
    store = _BlobStore(layout)
    info = _write_image(
        store,
        layout,
        layers=[files, *extra_layers],
        platform=Platform(os=os, architecture=architecture, variant=variant),
        tag=tag,
        labels=labels,
    )
    _write_index_json(
        layout,
        [
            {
                "mediaType": info.media_type,
                "digest": info.digest,
                "size": info.manifest_size,
                "platform": info.platform.as_dict(),
                "annotations": {ANNOTATION_REF_NAME: tag},
            }
        ],
    )
    return info


def write_oci_index_layout(
    path: str | os.PathLike,
    *,
    platforms: Sequence[Sequence[str] | Platform | str] = DEFAULT_PLATFORMS,
    tag: str = "latest",
    files: Mapping[str, bytes | str] | None = None,
) -> IndexInfo:
    """Write an OCI layout whose ``tag`` names an image index with one full image per platform.

    Each child holds ``files`` (if given) plus ``platform.txt`` naming its platform, so every child has
    its own layer, config and manifest digest. Platforms are ``("linux", "arm64")``,
    ``("linux", "arm", "v7")`` or ``"linux/arm64"``.

    Push it with ``skopeo copy --all --dest-tls-verify=false oci:PATH:TAG docker://…``; the registry then
    serves the index under ``info.digest`` and each child under ``info.children[i].digest``.
    """
    layout = Path(path)
    store = _BlobStore(layout)
    children: list[ImageInfo] = []
    for spec in platforms:
        plat = _platform(spec)
        child_files = dict(files or {})
        child_files["platform.txt"] = f"{plat}\n".encode()
        children.append(
            _write_image(store, layout, layers=[child_files], platform=plat, tag=None, labels=None)
        )
    if len({c.digest for c in children}) != len(children):
        raise ValueError("platforms must be distinct")

    index_obj = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_OCI_INDEX,
        "manifests": [
            {
                "mediaType": c.media_type,
                "digest": c.digest,
                "size": c.manifest_size,
                "platform": c.platform.as_dict(),
            }
            for c in children
        ],
    }
    index = canonical_json(index_obj)
    digest, size = store.put(index)
    _write_index_json(
        layout,
        [
            {
                "mediaType": MEDIA_TYPE_OCI_INDEX,
                "digest": digest,
                "size": size,
                "annotations": {ANNOTATION_REF_NAME: tag},
            }
        ],
    )
    return IndexInfo(
        path=layout,
        tag=tag,
        digest=digest,
        media_type=MEDIA_TYPE_OCI_INDEX,
        size=size,
        index=index,
        children=tuple(children),
    )


def write_rootfs_tarball(path: str | os.PathLike, files: Mapping[str, bytes | str]) -> Path:
    """Write a plain (uncompressed) tar of ``files`` for ``docker import`` / ``podman import``.

    The digest an import produces depends on the tool (it adds its own config with the import time), so
    read it back from the registry after the push rather than predicting it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(build_tar(files))
    return target
