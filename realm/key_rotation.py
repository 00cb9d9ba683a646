"""Signing-key rotation without downtime: a next key beside the current one, the bundle the registry trusts,
then promote the next key and, once the old key's tokens have expired, drop its certificate.

The files sit beside the configured key and certificate (`var/portus.key`, `var/portus.crt`):
`portus.next.key` / `portus.next.crt` (made by `generate_keys --next`), `portus.previous.crt` (the
certificate of the key a promote replaced; its private key is gone) and `portus.bundle.crt`, the
registry's `rootcertbundle`: the current certificate, then the next and the previous ones when present.
Every step rewrites the bundle (atomically), so the registry's configuration never changes; the registry
reads the bundle only at start-up, so it is restarted after `--next` and after `--drop-previous`.

Portus's own processes need no restart: `SigningKey.load` looks at the files' stamps on every token and
signs with the new key from the first token after a promote.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from realm.keys import SigningKey, write_key_pair


class RotationError(ValueError):
    """A rotation step that cannot be taken now; the message says what to do instead."""


def _beside(path: Path, label: str) -> Path:
    return path.with_name(f"{path.stem}.{label}{path.suffix}")


@dataclass(frozen=True)
class KeyFiles:
    """Where the current, next and previous key material and the bundle live."""

    key: Path
    certificate: Path

    @classmethod
    def of(cls, key: str | os.PathLike, certificate: str | os.PathLike) -> KeyFiles:
        return cls(Path(key), Path(certificate))

    @property
    def next_key(self) -> Path:
        return _beside(self.key, "next")

    @property
    def next_certificate(self) -> Path:
        return _beside(self.certificate, "next")

    @property
    def previous_certificate(self) -> Path:
        return _beside(self.certificate, "previous")

    @property
    def bundle(self) -> Path:
        return _beside(self.certificate, "bundle")

    def trusted(self) -> list[Path]:
        """The certificates the registry must trust now: current, next, previous (those that exist)."""
        candidates = (self.certificate, self.next_certificate, self.previous_certificate)
        return [path for path in candidates if path.exists()]


def _replace(path: Path, data: bytes, mode: int) -> None:
    """Writes `data` to `path` through a temporary file and a rename: a reader sees old or new, never half."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def write_bundle(files: KeyFiles) -> Path:
    """Rewrites the bundle from the certificates that exist; returns its path."""
    parts = [path.read_bytes().strip() + b"\n" for path in files.trusted()]
    if not parts:
        raise RotationError(f"No certificate at {files.certificate}: run `manage.py generate_keys` first.")
    _replace(files.bundle, b"".join(parts), 0o644)
    return files.bundle


def key_next_create(*, files: KeyFiles, common_name: str, overwrite: bool = False, **key_options) -> None:
    """Writes the next key and certificate and adds the certificate to the bundle."""
    if not files.certificate.exists():
        raise RotationError(f"No current certificate at {files.certificate}: run `manage.py generate_keys`.")
    try:
        write_key_pair(files.next_key, files.next_certificate, common_name, overwrite=overwrite, **key_options)
    except FileExistsError:
        raise RotationError(f"A next key is waiting already ({files.next_key}): promote it, or give --force "
                            "to replace it.") from None
    write_bundle(files)


def key_promote(*, files: KeyFiles) -> SigningKey:
    """Makes the next key the current one; the current certificate becomes the previous one. Returns the
    new signer. Refused while a previous certificate is still kept (one rotation at a time)."""
    if not (files.next_key.exists() and files.next_certificate.exists()):
        raise RotationError("No next key to promote: run `manage.py generate_keys --next` first.")
    if files.previous_certificate.exists():
        raise RotationError(f"A previous certificate is still trusted ({files.previous_certificate}): once "
                            "the tokens it signed have expired, run `manage.py generate_keys --drop-previous`.")
    signer = SigningKey.from_pem(files.next_key.read_bytes(), files.next_certificate.read_bytes())
    _replace(files.previous_certificate, files.certificate.read_bytes(), 0o644)
    # Key and certificate are replaced one after the other; SigningKey.load keeps the signer it has while
    # the pair does not match, so a token asked for in between is still signed (by the old key).
    os.replace(files.next_certificate, files.certificate)
    os.replace(files.next_key, files.key)
    write_bundle(files)
    return signer


def key_previous_drop(*, files: KeyFiles) -> bool:
    """Stops trusting the previous certificate (the bundle loses it). False when there was none."""
    if not files.previous_certificate.exists():
        write_bundle(files)
        return False
    files.previous_certificate.unlink()
    write_bundle(files)
    return True
