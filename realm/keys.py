"""Token-signing keys: generation, libtrust key IDs and the once-loaded signer of registry tokens."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import NameOID
from jwt.algorithms import get_default_algorithms
from jwt.utils import base64url_encode

log = logging.getLogger(__name__)

StrPath = str | os.PathLike[str]
_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def _spki_der(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def libtrust_key_id(public_key: PublicKeyTypes | PrivateKeyTypes) -> str:
    """The libtrust key ID Distribution 2.8 matches a token's `kid` against (a private key gives its public
    key's ID): SHA-256 of the DER SubjectPublicKeyInfo, 30 bytes, base32, groups of 4 joined by `:`."""
    if not hasattr(public_key, "public_bytes"):
        public_key = public_key.public_key()
    encoded = base64.b32encode(hashlib.sha256(_spki_der(public_key)).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def _san_entry(common_name: str) -> x509.GeneralName:
    host, sep, port = common_name.rpartition(":")
    for candidate in (common_name, host if sep and port.isdigit() else common_name):
        try:
            return x509.IPAddress(ipaddress.ip_address(candidate.strip("[]")))
        except ValueError:
            continue
    return x509.DNSName(host if sep and port.isdigit() else common_name)


def generate_key_and_certificate(
    common_name: str, *, key_type: str = "rsa", days: int = 3650, rsa_bits: int = 4096
) -> tuple[bytes, bytes]:
    """(PKCS#8 PEM private key, self-signed PEM certificate) usable as the registry's `rootcertbundle`.

    `key_type` is "rsa" (`rsa_bits`) or "ec" (P-256). The certificate is a CA (so Go accepts it as a
    root), valid from five minutes ago for `days` days; its SAN is `common_name` without any port."""
    if key_type == "rsa":
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = rsa.generate_private_key(65537, rsa_bits)
    elif key_type == "ec":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"key_type must be 'rsa' or 'ec', not {key_type!r}")
    if days < 1:
        raise ValueError("days must be at least 1")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    usage = dict.fromkeys(
        (
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([_san_entry(common_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, **usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def _write_new(path: Path, data: bytes, mode: int, overwrite: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)  # an overwritten file keeps its old mode otherwise
        os.write(fd, data)
    finally:
        os.close(fd)


def write_key_pair(
    key_path: StrPath,
    cert_path: StrPath,
    common_name: str,
    *,
    overwrite: bool = False,
    key_type: str = "rsa",
    rsa_bits: int = 4096,
    days: int = 3650,
) -> None:
    """Generates a key pair and writes the key (mode 0600) and certificate (0644), creating parent
    folders. Raises FileExistsError when either file exists, unless `overwrite`."""
    key_file, cert_file = Path(key_path), Path(cert_path)
    if not overwrite:
        for existing in (key_file, cert_file):
            if existing.exists():
                raise FileExistsError(f"{existing} already exists; refusing to overwrite it")
    key_pem, cert_pem = generate_key_and_certificate(
        common_name, key_type=key_type, days=days, rsa_bits=rsa_bits
    )
    for path in (key_file, cert_file):
        path.parent.mkdir(parents=True, exist_ok=True)
    _write_new(key_file, key_pem, 0o600, overwrite)
    _write_new(cert_file, cert_pem, 0o644, overwrite)


class SigningKey:
    """A private key with its certificate (and chain) that signs registry tokens."""

    __slots__ = ("_header_segment", "_jws_algorithm", "_private_key", "algorithm", "certificate", "chain", "kid",
                 "x5c")

    def __init__(self, private_key: PrivateKeyTypes, certificates: list[x509.Certificate]) -> None:
        if isinstance(private_key, rsa.RSAPrivateKey):
            algorithm = "RS256"
        elif isinstance(private_key, ec.EllipticCurvePrivateKey) and private_key.curve.name in _EC_ALGORITHMS:
            algorithm = _EC_ALGORITHMS[private_key.curve.name]
        else:
            raise ValueError("the signing key must be RSA or EC P-256/P-384/P-521")
        if not certificates:
            raise ValueError("no certificate found for the signing key")
        if _spki_der(certificates[0].public_key()) != _spki_der(private_key.public_key()):
            raise ValueError("the certificate's public key does not match the signing key")
        if certificates[0].not_valid_after_utc < datetime.now(UTC):
            log.warning("the token-signing certificate expired on %s", certificates[0].not_valid_after_utc)
        self._private_key = private_key
        self.algorithm: str = algorithm
        self.certificate: x509.Certificate = certificates[0]
        self.chain: tuple[x509.Certificate, ...] = tuple(certificates[1:])
        self.kid: str = libtrust_key_id(private_key.public_key())
        self.x5c: list[str] = [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in certificates
        ]
        # The JOSE header is the same for every token (with x5c, 2–3 kB): encoded once, as PyJWT would
        # (keys sorted, no spaces), and the signature made by PyJWT's own algorithm object.
        header = {"alg": algorithm, "kid": self.kid, "typ": "JWT", "x5c": list(self.x5c)}
        self._header_segment: bytes = base64url_encode(
            json.dumps(header, separators=(",", ":"), sort_keys=True).encode())
        self._jws_algorithm = get_default_algorithms()[algorithm]

    def __repr__(self) -> str:
        return f"<SigningKey {self.algorithm} kid={self.kid}>"

    @property
    def public_key(self) -> PublicKeyTypes:
        return self._private_key.public_key()

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes) -> SigningKey:
        """From an unencrypted PEM private key and a PEM file whose first certificate is the key's."""
        try:
            private_key = serialization.load_pem_private_key(key_pem, password=None)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not an unencrypted PEM private key: {exc}") from None
        try:
            certificates = x509.load_pem_x509_certificates(cert_pem)
        except ValueError as exc:
            raise ValueError(f"not a PEM certificate: {exc}") from None
        return cls(private_key, certificates)

    @classmethod
    def load(cls, key_path: StrPath, cert_path: StrPath) -> SigningKey:
        """The signer for these files, parsed once per process and again only when a file changes (a
        stat of both per call: a promoted key is used from the next token on, without a restart).

        While the files do not make a pair (a rotation replaces one, then the other) the signer already
        loaded goes on signing; a process with none yet looks again a moment later."""
        paths = (os.path.abspath(key_path), os.path.abspath(cert_path))
        for attempt in range(_MISMATCH_RETRIES + 1):
            stats = [os.stat(p) for p in paths]
            stamp = tuple((s.st_mtime_ns, s.st_size, s.st_ino) for s in stats)
            with _cache_lock:
                hit = _cache.get(paths)
            if hit is not None and hit[0] == stamp:
                return hit[1]
            try:
                signer = cls.from_pem(Path(paths[0]).read_bytes(), Path(paths[1]).read_bytes())
            except ValueError as exc:
                if hit is not None:
                    log.warning("signing key %s / certificate %s do not load (%s); still signing with %s",
                                paths[0], paths[1], exc, hit[1].kid)
                    return hit[1]
                if attempt == _MISMATCH_RETRIES:
                    raise ValueError(f"signing key {paths[0]} / certificate {paths[1]}: {exc}") from None
                time.sleep(0.05)
                continue
            with _cache_lock:
                _cache[paths] = (stamp, signer)
            return signer
        raise AssertionError("unreachable")

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact JWS of `claims` with `kid` (libtrust) and `x5c` headers: byte for byte what
        `jwt.encode(claims, key, algorithm, headers={kid, x5c, typ})` makes (tests/unit/test_keys.py), without
        encoding the header again for every token. The times are integers (realm/jwt_tokens.py)."""
        if not isinstance(claims.get("iss", ""), str):
            raise TypeError("Issuer (iss) must be a string.")
        payload = base64url_encode(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = self._header_segment + b"." + payload
        signature = self._jws_algorithm.sign(signing_input, self._private_key)
        return (signing_input + b"." + base64url_encode(signature)).decode()


_MISMATCH_RETRIES = 3
_cache: dict[tuple[str, str], tuple[tuple[tuple[int, int, int], ...], SigningKey]] = {}
_cache_lock = threading.Lock()


def clear_signing_key_cache() -> None:
    """Forgets every loaded key (the next `SigningKey.load` parses the files again)."""
    with _cache_lock:
        _cache.clear()
