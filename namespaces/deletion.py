"""Deleting tags and repositories on a user's request (web UI and API): in the registry first, then here.

The registry deletes manifests, not tags: deleting a tag deletes its digest, and every tag of the repository
that points at that digest goes with it. The callers ask the policy here, once, for both doors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied

from namespaces import policy
from namespaces import tags as tag_writes
from namespaces.models import Repository, Tag


class RegistryRefused(Exception):
    """The registry did not delete a manifest (unreachable, deletes turned off, refused)."""


# What goes with an image when it is deleted (signatures, SBOMs, attestations beside it): finders of
# (repository, digest) → digests, and what to call once each is gone. Filled by the apps that know
# (images/apps.py), so that this module depends on nothing above it.
BESIDE_FINDERS: list[Callable[..., list[str]]] = []
AFTER_DELETE: list[Callable[..., None]] = []


def image_and_beside_delete(*, repository: Repository, digest: str, by,
                            parameters: dict[str, Any] | None = None, gone: list[str] | None = None) -> int:
    """Deletes the manifest, then what sits beside it, in the registry and here; returns the image's tags
    that went, and appends each deleted digest to `gone`. Raises registries.client errors as they come
    (a retention run tells them apart); an error on something beside the image comes after the image."""
    beside = [d for finder in BESIDE_FINDERS for d in finder(repository=repository, digest=digest)]
    removed = 0
    for index, doomed in enumerate(dict.fromkeys([digest, *beside])):
        count = tag_writes.image_delete(repository=repository, digest=doomed, by=by, parameters=parameters)
        removed += count if index == 0 else 0
        if gone is not None:
            gone.append(doomed)
        for after in AFTER_DELETE:
            after(repository=repository, digest=doomed)
    return removed


def delete_image(*, repository: Repository, digest: str, by) -> None:
    """The one call that deletes a manifest in the registry and forgets its tags here; swap it here.

    namespaces.tags.image_delete talks to the registry through registries.client; its errors become
    RegistryRefused, with the registry's reason, for the page or the API answer. What sits beside the image
    (BESIDE_FINDERS) goes with it, after it: a refused one is named in the error, the image being gone
    already.
    """
    from registries.client import RegistryError

    gone: list[str] = []
    try:
        image_and_beside_delete(repository=repository, digest=digest, by=by, gone=gone)
    except RegistryError as exc:
        reason = str(exc) or exc.__class__.__name__
        if gone:
            reason = f"the image is deleted, but not everything beside it: {reason}"
        raise RegistryRefused(reason) from exc


def tags_sharing_digest(tag: Tag):
    """Every tag of the repository on the tag's digest (the tag itself included)."""
    return Tag.objects.filter(repository_id=tag.repository_id, digest=tag.digest).select_related("author")


def tag_destroy(*, tag: Tag, by) -> list[str]:
    """Deletes the tag's manifest in the registry, then every tag on that digest here; returns their names."""
    repository = tag.repository
    if not policy.can_delete_repository(by, repository.namespace, repository.name):
        raise PermissionDenied("You cannot delete images here.")
    names = sorted(tags_sharing_digest(tag).values_list("name", flat=True))
    delete_image(repository=repository, digest=tag.digest, by=by)
    return names


def repository_destroy(*, repository: Repository, by) -> None:
    """Deletes every manifest of the repository in the registry, then the repository here.

    Digest by digest: when the registry refuses one, those it deleted are gone here too, the rest stays, and
    RegistryRefused is raised.
    """
    if not policy.can_delete_repository(by, repository.namespace, repository.name):
        raise PermissionDenied("You cannot delete images here.")
    digests = list(Tag.objects.filter(repository=repository).order_by().values_list("digest", flat=True).distinct())
    for digest in digests:
        delete_image(repository=repository, digest=digest, by=by)
    tag_writes.repository_delete(registry=repository.namespace.registry, repository_name=repository.full_name,
                                 actor=by)
