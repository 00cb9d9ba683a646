"""cosign signatures: trusted public keys (ECDSA P-256, PEM) and the check of a simple-signing payload.

cosign's key-pair signature is an ECDSA-SHA256 signature (DER, base64 in the layer annotation
`dev.cosignproject.cosign/signature`) over the exact bytes of the payload layer, a JSON document whose
`critical.image.docker-manifest-digest` names the image signed. A signature is verified only when the
bytes check out with one of the namespace's keys AND the payload names the image it sits beside: a valid
signature of another image, copied next to this one, is not a signature of this one.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

MAX_PEM_BYTES = 4096
MAX_SIGNATURE_B64 = 512


class KeyRefused(ValueError):
    """A key this service does not accept (with the reason, for the form)."""


@dataclass(frozen=True)
class TrustedKey:
    name: str
    pem: str


def load_public_key(pem: str) -> ec.EllipticCurvePublicKey:
    """A PEM public key, refused unless it is ECDSA on P-256 (what `cosign generate-key-pair` makes)."""
    if not isinstance(pem, str) or not pem.strip():
        raise KeyRefused("Paste a PEM public key (-----BEGIN PUBLIC KEY-----).")
    if len(pem.encode("utf-8", "replace")) > MAX_PEM_BYTES:
        raise KeyRefused(f"A public key is at most {MAX_PEM_BYTES} bytes.")
    if "PRIVATE KEY" in pem:
        raise KeyRefused("That is a private key: paste the public one (cosign.pub), and keep the private key "
                         "to yourself.")
    try:
        key = serialization.load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError, TypeError) as exc:
        raise KeyRefused("Not a PEM public key.") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyRefused("Only ECDSA P-256 keys (cosign's key pairs) are accepted.")
    return key


@functools.lru_cache(maxsize=256)
def _loaded(pem: str) -> ec.EllipticCurvePublicKey | None:
    """A trusted key as stored, parsed once per process (keys come from the database, not from requests)."""
    try:
        return load_public_key(pem)
    except KeyRefused:
        return None


def fingerprint(key: ec.EllipticCurvePublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def canonical_pem(key: ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def payload_digest(payload: bytes) -> str:
    """`critical.image.docker-manifest-digest` of a simple-signing payload, or ''."""
    try:
        data: Any = json.loads(payload)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return ""
    critical = data.get("critical") if isinstance(data, dict) else None
    image = critical.get("image") if isinstance(critical, dict) else None
    digest = image.get("docker-manifest-digest") if isinstance(image, dict) else None
    return digest if isinstance(digest, str) and len(digest) <= 160 else ""


def verify(*, payload_b64: str, signature_b64: str, subject_digest: str, keys: list[TrustedKey]) -> str | None:
    """The name of the first trusted key the signature verifies with, for this subject; None otherwise."""
    if not keys or not isinstance(signature_b64, str) or len(signature_b64) > MAX_SIGNATURE_B64:
        return None
    try:
        payload = base64.b64decode(payload_b64, validate=True)
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None
    if not subject_digest or payload_digest(payload) != subject_digest:
        return None
    for trusted in keys:
        key = _loaded(trusted.pem)
        if key is None:
            continue
        try:
            key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            continue
        return trusted.name
    return None
