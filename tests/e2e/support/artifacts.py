"""A small registry client for the tests: pushes blobs and manifests over the registry's HTTP API, and
builds signatures, SBOMs and attestations in exactly cosign's formats (tag scheme and OCI 1.1 referrers),
since cosign itself is not installable here.

Tokens come from this service's token endpoint, as any client's do (Basic auth of the stack's admin).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
SPDX = "text/spdx+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class Pushed:
    digest: str
    body: bytes
    blobs: list[tuple[str, int]]  # (digest, size) of config and layers


class RegistryPusher:
    def __init__(self, *, registry_url: str, realm_url: str, service: str, username: str, password: str) -> None:
        self.registry_url, self.realm_url, self.service = registry_url, realm_url, service
        self.auth = (username, password)
        self.http = requests.Session()
        self.http.trust_env = False

    def token(self, repository: str) -> str:
        response = self.http.get(f"{self.realm_url}/v2/token", auth=self.auth, timeout=20, params={
            "service": self.service, "scope": f"repository:{repository}:pull,push"})
        response.raise_for_status()
        return response.json()["token"]

    def push_blob(self, repository: str, data: bytes) -> tuple[str, int]:
        digest = digest_of(data)
        headers = {"Authorization": f"Bearer {self.token(repository)}"}
        start = self.http.post(f"{self.registry_url}/v2/{repository}/blobs/uploads/", headers=headers, timeout=20)
        assert start.status_code == 202, start.text
        location = start.headers["Location"]
        if location.startswith("/"):
            location = self.registry_url + location
        sep = "&" if "?" in location else "?"
        done = self.http.put(f"{location}{sep}digest={digest}", data=data, timeout=20,
                             headers={**headers, "Content-Type": "application/octet-stream"})
        assert done.status_code == 201, done.text
        return digest, len(data)

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str = OCI_MANIFEST) -> str:
        response = self.http.put(f"{self.registry_url}/v2/{repository}/manifests/{reference}", data=body, timeout=20,
                                 headers={"Authorization": f"Bearer {self.token(repository)}",
                                          "Content-Type": media_type})
        assert response.status_code == 201, f"{response.status_code} {response.text}"
        return response.headers["Docker-Content-Digest"]

    def push_manifest(self, repository: str, reference: str | None, manifest: dict, blobs: list[bytes]) -> Pushed:
        """Pushes the blobs, then the manifest by tag (or, with reference None, by its digest)."""
        pushed = [self.push_blob(repository, blob) for blob in blobs]
        body = canonical(manifest)
        digest = self.put_manifest(repository, reference or digest_of(body), body, manifest["mediaType"])
        assert digest == digest_of(body)
        return Pushed(digest=digest, body=body, blobs=pushed)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _descriptor(media_type: str, data: bytes, annotations: dict | None = None) -> dict:
    out = {"mediaType": media_type, "digest": digest_of(data), "size": len(data)}
    if annotations:
        out["annotations"] = annotations
    return out


def _cosign_config(layers: list[bytes]) -> bytes:
    """The config cosign writes for its signature/attestation images."""
    return canonical({"architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
                      "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                      "rootfs": {"type": "layers", "diff_ids": [digest_of(layer) for layer in layers]}})


def simple_signing_payload(reference: str, digest: str) -> bytes:
    return canonical({"critical": {"identity": {"docker-reference": reference},
                                   "image": {"docker-manifest-digest": digest},
                                   "type": "cosign container image signature"}, "optional": None})


def cosign_signature(key: ec.EllipticCurvePrivateKey, reference: str, digest: str, *,
                     subject: dict | None = None) -> tuple[dict, list[bytes]]:
    """cosign's signature manifest: one simple-signing layer, its signature in the layer annotation. With
    `subject` (a descriptor), the OCI 1.1 form (cosign --registry-referrers-mode=oci-1-1)."""
    payload = simple_signing_payload(reference, digest)
    signature = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    return _artifact([(SIMPLESIGNING, payload, {SIGNATURE_ANNOTATION: signature})], subject=subject,
                     artifact_type=SIMPLESIGNING if subject else None)


def cosign_attestation(digest: str, *, subject: dict | None = None) -> tuple[dict, list[bytes]]:
    statement = canonical({"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://slsa.dev/provenance/v0.2",
                           "subject": [{"name": "app", "digest": {"sha256": digest.split(":", 1)[1]}}],
                           "predicate": {"builder": {"id": "tests"}}})
    envelope = canonical({"payloadType": "application/vnd.in-toto+json",
                          "payload": base64.b64encode(statement).decode(), "signatures": [{"sig": "AA=="}]})
    return _artifact([(DSSE, envelope, {"predicateType": "https://slsa.dev/provenance/v0.2"})], subject=subject,
                     artifact_type=DSSE if subject else None)


def sbom(digest: str, *, subject: dict | None = None) -> tuple[dict, list[bytes]]:
    document = canonical({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": digest,
                          "packages": [{"name": "busybox", "versionInfo": "1.36"}]})
    return _artifact([(SPDX, document, None)], subject=subject,
                     artifact_type="application/spdx+json" if subject else None)


def _artifact(layers: list[tuple[str, bytes, dict | None]], *, subject: dict | None,
              artifact_type: str | None) -> tuple[dict, list[bytes]]:
    datas = [data for _, data, _ in layers]
    if subject is None:
        config, config_type = _cosign_config(datas), OCI_CONFIG
    else:
        config, config_type = b"{}", OCI_EMPTY
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": _descriptor(config_type, config),
                "layers": [_descriptor(media_type, data, annotations) for media_type, data, annotations in layers]}
    if subject is not None:
        manifest["subject"] = subject
        manifest["artifactType"] = artifact_type
    return manifest, [config, *datas]


def cosign_tag(digest: str, suffix: str) -> str:
    return f"sha256-{digest.split(':', 1)[1]}.{suffix}"


def storage_blobs(storage_root, repositories: list[str]) -> dict[str, int]:
    """digest → size of every blob the registry's storage folder links in these repositories (layers,
    configs and manifest revisions), read from the folder itself."""
    from pathlib import Path

    v2 = Path(storage_root) / "docker" / "registry" / "v2"
    found: dict[str, int] = {}
    for repository in repositories:
        base = v2 / "repositories" / repository
        for folder in (base / "_layers" / "sha256", base / "_manifests" / "revisions" / "sha256"):
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                if not (entry / "link").is_file():
                    continue
                digest = (entry / "link").read_text().strip()
                data = v2 / "blobs" / "sha256" / digest[7:9] / digest[7:] / "data"
                if data.is_file():
                    found[digest] = data.stat().st_size
    return found
