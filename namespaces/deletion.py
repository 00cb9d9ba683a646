"""Deleting tags and repositories on a user's request (web UI and API): in the registry first, then here.

The registry deletes manifests, not tags: deleting a tag deletes its digest, and every tag of the repository
that points at that digest goes with it. The callers ask the policy here, once, for both doors.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from namespaces import policy
from namespaces import tags as tag_writes
from namespaces.models import Repository, Tag


class RegistryRefused(Exception):
    """The registry did not delete a manifest (unreachable, deletes turned off, refused)."""


def delete_image(*, repository: Repository, digest: str, by) -> None:
    """The one call that deletes a manifest in the registry and forgets its tags here; swap it here.

    namespaces.tags.image_delete talks to the registry through registries.client; its errors become
    RegistryRefused, with the registry's reason, for the page or the API answer. The signatures, SBOMs and
    attestations beside the image (images/artifacts.py) go with it, after it: a refused one is named in
    the error, the image being gone already.
    """
    from images.artifacts import forget, referrer_digests
    from registries.client import RegistryError

    beside = referrer_digests(repository=repository, digest=digest)
    for index, doomed in enumerate([digest, *beside]):
        try:
            tag_writes.image_delete(repository=repository, digest=doomed, by=by)
        except RegistryError as exc:
            reason = str(exc) or exc.__class__.__name__
            if index:
                reason = f"the image is deleted, but not everything beside it ({doomed}): {reason}"
            raise RegistryRefused(reason) from exc
        forget(repository=repository, digest=doomed)


def tags_sharing_digest(tag: Tag):
    """Every tag of the repository on the tag's digest (the tag itself included)."""
    return Tag.objects.filter(repository_id=tag.repository_id, digest=tag.digest).select_related("author")


def tag_destroy(*, tag: Tag, by) -> list[str]:
    """Deletes the tag's manifest in the registry, then every tag on that digest here; returns their names."""
    repository = tag.repository
    if not policy.can_delete(by, repository.namespace):
        raise PermissionDenied("You cannot delete images here.")
    names = sorted(tags_sharing_digest(tag).values_list("name", flat=True))
    delete_image(repository=repository, digest=tag.digest, by=by)
    return names


def repository_destroy(*, repository: Repository, by) -> None:
    """Deletes every manifest of the repository in the registry, then the repository here.

    Digest by digest: when the registry refuses one, those it deleted are gone here too, the rest stays, and
    RegistryRefused is raised.
    """
    if not policy.can_delete(by, repository.namespace):
        raise PermissionDenied("You cannot delete images here.")
    digests = list(Tag.objects.filter(repository=repository).order_by().values_list("digest", flat=True).distinct())
    for digest in digests:
        delete_image(repository=repository, digest=digest, by=by)
    tag_writes.repository_delete(registry=repository.namespace.registry, repository_name=repository.full_name,
                                 actor=by)
