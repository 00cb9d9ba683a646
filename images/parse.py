"""Reading manifests and image configs as the registry serves them, into bounded, clean values.

Nothing here trusts its input: every list is capped, every string cut and cleaned (NUL, other control
characters and lone surrogates removed, which PostgreSQL would refuse), every number checked, and what
was cut is said in `truncated` so a page can say so. Pure functions, no I/O: the fetcher reads, this
module decides what is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from images.models import Kind
from registries.manifests import INDEX_MEDIA_TYPES, is_attestation

MAX_LAYERS = 256
MAX_PLATFORMS = 64
MAX_HISTORY = 1024
MAX_MAP_ITEMS = 200  # env, labels, annotations, ports
MAX_KEY = 255
MAX_VALUE = 2000
MAX_COMMAND = 4000  # entrypoint/cmd joined, a history line
MAX_SIGNATURES = 16
MAX_SIGNATURE_PAYLOAD = 64 * 1024
MAX_CONFIG_BYTES = 4 * 1024 * 1024

SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
NOTARY_SIGNATURE = "application/vnd.cncf.notary.signature"
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle"
IMAGE_CONFIG_TYPES = frozenset({
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
})
SOURCE_ANNOTATION = "org.opencontainers.image.source"
DESCRIPTION_ANNOTATION = "org.opencontainers.image.description"
MASK = "••••••"

# Keys whose values are not shown: linear (alternation of literals, no nesting).
_SECRET_KEY = re.compile(r"PASSWORD|PASSWD|PASSPHRASE|TOKEN|SECRET|KEY|CREDENTIAL|PRIVATE|AUTH|SALT|COOKIE|SESSION",
                         re.IGNORECASE)
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_COSIGN_TAG = re.compile(r"sha256-([0-9a-f]{64})(?:\.(sig|att|sbom))?")
_DIGEST = re.compile(r"sha(?:256|384|512):[0-9a-f]{32,128}")


def clean(value: Any, limit: int = MAX_VALUE) -> str:
    """A string fit to store and show: lone surrogates and control characters (but tab and newline)
    removed, including the bidirectional overrides that make text read backwards; cut to `limit`."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text[: limit * 2].encode("utf-8", "replace").decode("utf-8", "replace")
    text = _UNPRINTABLE.sub("", text)
    return text[:limit]


def size_of(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**62:
        return 0
    return value


def digest_of(value: Any) -> str:
    """A digest as Distribution spells one, or ''."""
    return value if isinstance(value, str) and _DIGEST.fullmatch(value) else ""


def cosign_tag(name: str) -> tuple[str, str] | None:
    """("sha256:<hex>", kind) for cosign's fallback tags `sha256-<hex>.sig|.att|.sbom`, and for the
    OCI 1.1 referrers tag `sha256-<hex>` (kind "referrers"); None for any other tag."""
    match = _COSIGN_TAG.fullmatch(name or "")
    if match is None:
        return None
    suffix = match.group(2)
    kind = {"sig": Kind.SIGNATURE, "att": Kind.ATTESTATION, "sbom": Kind.SBOM}.get(suffix or "", "referrers")
    return f"sha256:{match.group(1)}", kind


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def string_map(value: Any, *, mask_secrets: bool = False, truncated: list[str] | None = None,
               what: str = "") -> dict[str, str]:
    """A {str: str} map, at most MAX_MAP_ITEMS entries, keys and values cut."""
    out: dict[str, str] = {}
    items = list(_dict(value).items())
    for key, item in items[:MAX_MAP_ITEMS]:
        name = clean(key, MAX_KEY)
        if not name:
            continue
        text = clean(item)
        out[name] = MASK if mask_secrets and text and looks_secret(name) else text
    if len(items) > MAX_MAP_ITEMS and truncated is not None:
        truncated.append(f"{len(items) - MAX_MAP_ITEMS} more {what} not kept")
    return out


def looks_secret(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def environment(value: Any, truncated: list[str]) -> list[list[str]]:
    """Config Env ("KEY=value" strings) as [key, value] pairs, secret-looking values masked."""
    out = []
    entries = _list(value)
    for entry in entries[:MAX_MAP_ITEMS]:
        if not isinstance(entry, str):
            continue
        key, _, val = entry.partition("=")
        key, val = clean(key, MAX_KEY), clean(val)
        if key:
            out.append([key, MASK if val and looks_secret(key) else val])
    if len(entries) > MAX_MAP_ITEMS:
        truncated.append(f"{len(entries) - MAX_MAP_ITEMS} more environment variables not kept")
    return out


def command(value: Any) -> list[str]:
    """Entrypoint / Cmd: a list of strings (a string is one item), at most MAX_COMMAND characters in all."""
    items = [value] if isinstance(value, str) else _list(value)
    out, budget = [], MAX_COMMAND
    for item in items[:256]:
        if budget <= 0:
            break
        text = clean(item, budget)
        out.append(text)
        budget -= len(text) + 1
    return out


def source_url(value: str) -> str:
    """The annotation's value when it is an http(s) URL with a host (shown as a link), else ''."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(c in value for c in ' "<>\'`'):
        return ""
    return value


# --- manifests ----------------------------------------------------------------------------------------


@dataclass
class LayerRef:
    digest: str
    size: int
    media_type: str
    annotations: dict[str, str]


@dataclass
class ParsedManifest:
    media_type: str
    kind: str
    artifact_type: str = ""
    subject_digest: str = ""
    config_digest: str = ""
    config_size: int = 0
    config_media_type: str = ""
    layers: list[LayerRef] = field(default_factory=list)
    platforms: list[dict[str, Any]] = field(default_factory=list)  # for an index: os/arch/variant/digest/size
    annotations: dict[str, str] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)

    @property
    def is_index(self) -> bool:
        return self.kind == Kind.INDEX or self.media_type in INDEX_MEDIA_TYPES

    @property
    def image_size(self) -> int:
        return self.config_size + sum(layer.size for layer in self.layers)


def parse_manifest(data: Any, media_type: str = "", *, tag_hint: str = "") -> ParsedManifest:
    """Everything kept of a manifest or index (a JSON object as the registry served it)."""
    data = _dict(data)
    truncated: list[str] = []
    media_type = clean(data.get("mediaType") if isinstance(data.get("mediaType"), str) else media_type, 255)
    subject = digest_of(_dict(data.get("subject")).get("digest"))
    annotations = string_map(data.get("annotations"), truncated=truncated, what="annotations")
    artifact_type = clean(data.get("artifactType"), 255)
    index = media_type in INDEX_MEDIA_TYPES or (not media_type and isinstance(data.get("manifests"), list))
    parsed = ParsedManifest(media_type=media_type, kind=Kind.UNKNOWN, artifact_type=artifact_type,
                            subject_digest=subject, annotations=annotations, truncated=truncated)
    if index:
        entries = [e for e in _list(data.get("manifests")) if isinstance(e, dict) and digest_of(e.get("digest"))]
        for entry in entries[:MAX_PLATFORMS]:
            platform = _dict(entry.get("platform"))
            parsed.platforms.append({
                "os": clean(platform.get("os"), 64),
                "architecture": clean(platform.get("architecture"), 64),
                "variant": clean(platform.get("variant"), 64),
                "digest": entry["digest"],
                "size": size_of(entry.get("size")),
                "media_type": clean(entry.get("mediaType"), 255),
                "attestation": is_attestation(entry),
            })
        if len(entries) > MAX_PLATFORMS:
            truncated.append(f"{len(entries) - MAX_PLATFORMS} more platforms not kept")
        parsed.kind = _artifact_kind(artifact_type, [], annotations, tag_hint) or Kind.INDEX
        if subject and parsed.kind == Kind.INDEX:
            parsed.kind = Kind.ARTIFACT
        return parsed
    config = _dict(data.get("config"))
    parsed.config_digest = digest_of(config.get("digest"))
    parsed.config_size = size_of(config.get("size")) if parsed.config_digest else 0
    parsed.config_media_type = clean(config.get("mediaType"), 255)
    layers = [layer for layer in _list(data.get("layers"))
              if isinstance(layer, dict) and digest_of(layer.get("digest"))]
    for layer in layers[:MAX_LAYERS]:
        parsed.layers.append(LayerRef(
            digest=layer["digest"], size=size_of(layer.get("size")), media_type=clean(layer.get("mediaType"), 255),
            annotations=string_map(layer.get("annotations")),
        ))
    if len(layers) > MAX_LAYERS:
        truncated.append(f"{len(layers) - MAX_LAYERS} more layers not kept")
    if not artifact_type and parsed.config_media_type and parsed.config_media_type not in IMAGE_CONFIG_TYPES:
        parsed.artifact_type = parsed.config_media_type
    kind = _artifact_kind(parsed.artifact_type, [layer.media_type for layer in parsed.layers], annotations, tag_hint)
    if kind is None and (subject or parsed.artifact_type):
        kind = Kind.ARTIFACT
    parsed.kind = kind or (Kind.IMAGE if parsed.config_digest else Kind.UNKNOWN)
    return parsed


def _artifact_kind(artifact_type: str, layer_types: list[str], annotations: dict[str, str],
                   tag_hint: str) -> str | None:
    """What an artifact is, from its type, its layers' types and, for cosign's tag scheme, its tag."""
    hinted = cosign_tag(tag_hint)
    if hinted is not None and hinted[1] in (Kind.SIGNATURE, Kind.ATTESTATION, Kind.SBOM):
        return hinted[1]
    types = [t.lower() for t in (artifact_type, *layer_types) if t]
    if any(t.startswith(SIGSTORE_BUNDLE) for t in types):
        predicate = annotations.get("dev.sigstore.bundle.predicateType", "")
        return Kind.SIGNATURE if not predicate or "cosign/sign" in predicate else Kind.ATTESTATION
    if any(t in (SIMPLESIGNING, NOTARY_SIGNATURE) for t in types):
        return Kind.SIGNATURE
    if any("in-toto" in t or "dsse" in t for t in types):
        return Kind.ATTESTATION
    if any("spdx" in t or "cyclonedx" in t or "syft" in t for t in types):
        return Kind.SBOM
    return None


# --- image configs ------------------------------------------------------------------------------------


def parse_config(data: Any, layers: list[LayerRef], truncated: list[str]) -> tuple[dict[str, Any], list[str]]:
    """(what the page shows of an image config, the history line that made each layer).

    History entries marked `empty_layer` made no layer; the others are matched to the layers in order."""
    data = _dict(data)
    inner = _dict(data.get("config"))
    ports = list(_dict(inner.get("ExposedPorts")))
    shown = {
        "created": clean(data.get("created"), 64),
        "author": clean(data.get("author"), 255),
        "os": clean(data.get("os"), 64),
        "architecture": clean(data.get("architecture"), 64),
        "variant": clean(data.get("variant"), 64),
        "user": clean(inner.get("User"), 255),
        "entrypoint": command(inner.get("Entrypoint")),
        "cmd": command(inner.get("Cmd")),
        "env": environment(inner.get("Env"), truncated),
        "exposed_ports": [clean(port, 64) for port in ports[:MAX_MAP_ITEMS] if isinstance(port, str)],
        "working_dir": clean(inner.get("WorkingDir"), 1000),
        "labels": string_map(inner.get("Labels"), mask_secrets=True, truncated=truncated, what="labels"),
        "stop_signal": clean(inner.get("StopSignal"), 32),
    }
    if len(ports) > MAX_MAP_ITEMS:
        truncated.append(f"{len(ports) - MAX_MAP_ITEMS} more exposed ports not kept")
    made_by: list[str] = []
    history = _list(data.get("history"))
    for entry in history[:MAX_HISTORY]:
        entry = _dict(entry)
        if entry.get("empty_layer") is True:
            continue
        made_by.append(clean(entry.get("created_by") or entry.get("comment"), MAX_COMMAND))
        if len(made_by) >= len(layers):
            break
    made_by += [""] * (len(layers) - len(made_by))
    return shown, made_by


# --- cosign simple signing --------------------------------------------------------------------------


def signature_layers(layers: list[LayerRef]) -> list[LayerRef]:
    """The layers holding a cosign simple-signing payload and its signature (at most MAX_SIGNATURES)."""
    return [layer for layer in layers if layer.media_type == SIMPLESIGNING
            and layer.annotations.get(SIGNATURE_ANNOTATION) and layer.size <= MAX_SIGNATURE_PAYLOAD
            ][:MAX_SIGNATURES]
