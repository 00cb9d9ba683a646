"""What a call to a registry can fail with (registries/client.py raises them, and re-exports them)."""

from __future__ import annotations


class RegistryError(Exception):
    """A registry call that did not give what was asked; `retryable` says whether trying later may help."""

    retryable = True


class RegistryUnavailable(RegistryError):
    """Not reachable, timed out, or answered 5xx/429."""


class RegistryAuthError(RegistryError):
    """The registry refused the internal account's token (issuer, certificate or service mismatch), or
    asked for a token for another service."""


class OffOriginLink(RegistryError):
    """A URL off the registry's own origin (a paging link elsewhere): not followed, the token stays home."""

    retryable = False


class ManifestUnknown(RegistryError):
    """404: the manifest (or repository) is not in the registry (any more)."""

    retryable = False


class DigestMismatch(RegistryError):
    """The manifest's bytes do not hash to the digest they were asked by."""


class ResponseTooLarge(RegistryError):
    """The registry answered with more bytes than any manifest or page of names can hold."""

    retryable = False


class DeleteNotAllowed(RegistryError):
    """405: the registry has deletes turned off (`storage.delete.enabled`)."""

    retryable = False
