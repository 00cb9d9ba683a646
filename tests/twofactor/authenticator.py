"""A software authenticator for the server-side tests: real keys, real CBOR and real signatures, made
the way WebAuthn specifies, so the server's verification (py_webauthn) runs on genuine answers. The
browser tests use Chromium's own virtual authenticator instead."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ORIGIN = "http://testserver"
RP_ID = "testserver"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    key: ec.EllipticCurvePrivateKey
    credential_id: bytes
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    """Holds discoverable credentials, one per user handle, as a platform authenticator would."""

    rp_id: str = RP_ID
    origin: str = ORIGIN
    user_verified: bool = True
    credentials: list[Credential] = field(default_factory=list)

    def _auth_data(self, flags: int, count: int, attested: bytes = b"") -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", count) + attested

    def _client_data(self, kind: str, challenge: str, origin: str | None = None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict, *, origin: str | None = None) -> dict:
        """The answer of navigator.credentials.create() to `options` (the server's publicKey JSON)."""
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        credential_id = secrets.token_bytes(32)
        cred = Credential(key=key, credential_id=credential_id, user_handle=unb64u(options["user"]["id"]))
        self.credentials.append(cred)
        attested = bytes(16) + struct.pack(">H", len(credential_id)) + credential_id + cose
        flags = 0x01 | (0x04 if self.user_verified else 0) | 0x40
        auth_data = self._auth_data(flags, 0, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": b64u(credential_id), "rawId": b64u(credential_id), "type": "public-key",
                "clientExtensionResults": {},
                "response": {"clientDataJSON": b64u(self._client_data("webauthn.create", options["challenge"], origin)),
                             "attestationObject": b64u(attestation), "transports": ["internal"]}}

    def get(self, options: dict, *, credential: Credential | None = None, origin: str | None = None,
            count_step: int = 1) -> dict:
        """The answer of navigator.credentials.get(): signed by `credential`, or by the first one the
        options allow (any, for a discoverable request)."""
        if credential is None:
            allowed = {unb64u(c["id"]) for c in options.get("allowCredentials") or []}
            credential = next(c for c in self.credentials if not allowed or c.credential_id in allowed)
        credential.sign_count += count_step
        flags = 0x01 | (0x04 if self.user_verified else 0)
        auth_data = self._auth_data(flags, credential.sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = credential.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64u(credential.credential_id), "rawId": b64u(credential.credential_id), "type": "public-key",
                "clientExtensionResults": {},
                "response": {"clientDataJSON": b64u(client_data), "authenticatorData": b64u(auth_data),
                             "signature": b64u(signature), "userHandle": b64u(credential.user_handle)}}
