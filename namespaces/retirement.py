"""Retired namespaces: what deleting a namespace (or a user) leaves while the registry may hold images under its
name, and how an admin frees the name again.

The rule. The registry stores images by name and knows nothing of accounts: whoever holds a name here is
granted the images stored under it. So deleting a namespace does not free its name while images may remain:
the namespace is retired instead — kept, moved to the registry's hidden global team, made private, marked
with who retired it, when, and whose it was. From then on only admins may pull from it, nobody may push
(namespaces/policy.py), and its name — for a personal namespace, the user name too — is reserved: sign-up and
namespace creation answer RESERVED_MESSAGE. An admin then either
- releases it: forgets it here; allowed only once the registry lists no tagged image under the name; or
- purges it: deletes every manifest under the name in the registry (as the internal account, so only with
  `delete.enabled`), then forgets it.
A namespace with no image here and none in the registry is simply deleted: there is nothing to inherit.
When the registry cannot be asked, the namespace is retired (fail closed); an admin releases it later.

Bounds (this runs in the request): the catalog is read page by page and left as soon as it is past the name
(Distribution lists repositories in order; any other order is read to the end, at most MAX_CATALOG_NAMES
names); at most MAX_REPOSITORIES repositories are looked at, and a purge deletes at most MAX_PURGE_MANIFESTS
manifests per call and says how many remain (purge again). The registry frees the blobs at its next garbage
collection; untagged manifests this service never saw cannot be listed through the registry's API
(`registry garbage-collect --delete-untagged` removes them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from activities.services import activity_record
from namespaces import policy
from namespaces.models import Namespace, Repository, Tag, Visibility

RESERVED_MESSAGE = "This name is reserved by a former account or namespace; an admin can release it."
MAX_CATALOG_NAMES = 200_000
MAX_REPOSITORIES = 1_000
MAX_PURGE_MANIFESTS = 500


class RegistryUnknown(Exception):
    """The registry could not tell what it holds under a name."""


@dataclass
class Holdings:
    """What the registry lists under a namespace's name: repository → its tags."""

    tags: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(self.tags.values())

    def describe(self, limit: int = 5) -> str:
        held = sorted(name for name, tags in self.tags.items() if tags)
        more = f" and {len(held) - limit} more" if len(held) > limit else ""
        return ", ".join(held[:limit]) + more


def _catalog_under(names: Iterable[str], prefix: str) -> list[str]:
    """The names under `prefix` (`team/`), leaving the catalog once it is past them. Distribution lists
    repositories in order (its `last=` paging depends on it), either by string or by path (`a/b` before
    `a-b/c`): in both, every name under the prefix comes before the first name that sorts at or after `prefix`
    with its `/` raised by one. A catalog seen out of both orders is read to the end."""
    beyond = prefix[:-1] + chr(ord("/") + 1)
    found: list[str] = []
    previous, previous_parts = "", ()
    string_order = path_order = True
    for count, name in enumerate(names, start=1):
        if count > MAX_CATALOG_NAMES:
            raise RegistryUnknown(f"the catalog lists more than {MAX_CATALOG_NAMES} repositories")
        parts = tuple(name.split("/"))
        string_order = string_order and name >= previous
        path_order = path_order and parts >= previous_parts
        previous, previous_parts = name, parts
        if name.startswith(prefix):
            found.append(name)
        elif (string_order or path_order) and name >= beyond:
            break
    return found


def registry_holdings(namespace: Namespace) -> Holdings:
    """What the registry holds under the namespace's name (its catalog, plus the repositories known here).
    Raises RegistryUnknown when the registry cannot tell."""
    from registries.client import RegistryClient, RegistryError

    client = RegistryClient(namespace.registry)
    known = {repository.full_name for repository in Repository.objects.filter(namespace=namespace)
             .select_related("namespace")[:MAX_REPOSITORIES + 1]}
    try:
        names = known | set(_catalog_under(client.catalog(), f"{namespace.name}/"))
        if len(names) > MAX_REPOSITORIES:
            raise RegistryUnknown(f"more than {MAX_REPOSITORIES} repositories under {namespace.name}")
        return Holdings(tags={name: client.tags(name) for name in sorted(names)})
    except RegistryError as exc:
        raise RegistryUnknown(str(exc) or exc.__class__.__name__) from exc


def holds_images(namespace: Namespace) -> bool:
    """Whether images may remain under the namespace's name: a tag known here, one the registry lists, or a
    registry that cannot tell."""
    if Tag.objects.filter(repository__namespace=namespace).exists():
        return True
    try:
        return not registry_holdings(namespace).empty
    except RegistryUnknown:
        return True


def namespace_retire(*, namespace: Namespace, by, former_owner: str) -> Namespace:
    """Keeps the namespace, out of everybody's reach but admins', its name reserved (see the module)."""
    from namespaces.services import global_team_ensure

    namespace.team = global_team_ensure(registry=namespace.registry)
    namespace.visibility = Visibility.PRIVATE
    namespace.retired_at = timezone.now()
    namespace.retired_by = by if getattr(by, "pk", None) else None
    namespace.former_owner = former_owner[:300]
    namespace.save()
    activity_record(key="namespace.retire", owner=by, target=namespace, namespace=namespace,
                    parameters={"former_owner": namespace.former_owner})
    return namespace


def namespace_forget(*, namespace: Namespace, by, key: str, **parameters) -> None:
    """Deletes the namespace and what is known of its repositories here (the registry is not touched)."""
    activity_record(key=key, owner=by, target_type="namespace", target_name=namespace.name,
                    parameters={"former_owner": namespace.former_owner, **parameters})
    namespace.delete()


def namespace_release(*, namespace: Namespace, by) -> None:
    """Frees a retired namespace's name, once the registry holds no tagged image under it."""
    if not policy.can_release_namespace(by, namespace):
        raise PermissionDenied("Only admins release retired namespaces.")
    try:
        holdings = registry_holdings(namespace)
    except RegistryUnknown as exc:
        raise ValidationError({"namespace": f"The registry could not say what it holds under {namespace.name} "
                                            f"({exc}); try again when it answers."}) from exc
    if not holdings.empty:
        raise ValidationError({"namespace": f"The registry still holds images under {namespace.name} "
                                            f"({holdings.describe()}): purge them first."})
    with transaction.atomic():
        namespace_forget(namespace=namespace, by=by, key="namespace.release")


@dataclass
class PurgeResult:
    deleted: int
    remaining: int
    released: bool


def _manifests(client, holdings: Holdings, namespace: Namespace) -> list[tuple[str, str]]:
    """(repository, digest) of every manifest to delete: what the tags point at, an index's children after it,
    and the digests known here (tags the registry may have lost while their manifests stayed)."""
    from registries.client import ManifestUnknown

    known: dict[str, set[str]] = {}
    for tag in Tag.objects.filter(repository__namespace=namespace).select_related("repository__namespace"):
        digests = known.setdefault(tag.repository.full_name, set())
        digests.add(tag.digest)
        digests.update(p.get("digest") for p in tag.platforms or [] if isinstance(p, dict) and p.get("digest"))
    found: list[tuple[str, str]] = []
    for repository in sorted(set(holdings.tags) | set(known)):
        seen: set[str] = set()
        for tag in holdings.tags.get(repository, []):
            try:
                manifest = client.get_manifest(repository, tag)
            except ManifestUnknown:
                continue
            children = [entry.get("digest") for entry in manifest.data.get("manifests") or []
                        if isinstance(entry, dict) and isinstance(entry.get("digest"), str)]
            for digest in [manifest.digest, *children]:
                if digest not in seen:
                    seen.add(digest)
                    found.append((repository, digest))
        found.extend((repository, digest) for digest in sorted(known.get(repository, set()) - seen))
    return found


def namespace_purge(*, namespace: Namespace, by) -> PurgeResult:
    """Deletes the retired namespace's images in the registry (at most MAX_PURGE_MANIFESTS manifests per call),
    then, when the registry holds nothing more under the name, frees it."""
    from registries.client import DeleteNotAllowed, ManifestUnknown, RegistryClient, RegistryError

    if not policy.can_purge_namespace(by, namespace):
        raise PermissionDenied("Only admins purge retired namespaces, and only with delete.enabled on.")
    client = RegistryClient(namespace.registry)
    deleted = 0
    try:
        manifests = _manifests(client, registry_holdings(namespace), namespace)
        batch = manifests[:MAX_PURGE_MANIFESTS]
        for repository, digest in batch:
            try:
                client.delete_manifest(repository, digest)
            except ManifestUnknown:
                continue  # gone already (an index's child, or a digest only known here)
            deleted += 1
        holdings = registry_holdings(namespace)
    except DeleteNotAllowed as exc:
        raise ValidationError({"namespace": "The registry does not allow deletes (storage.delete.enabled): "
                                            f"{deleted} manifests deleted, nothing more can be."}) from exc
    except (RegistryError, RegistryUnknown) as exc:
        raise ValidationError({"namespace": f"The registry stopped the purge after {deleted} manifests: "
                                            f"{exc}. Purge again when it answers."}) from exc
    finally:
        if deleted:
            activity_record(key="namespace.purge", owner=by, target=namespace, namespace=namespace,
                            parameters={"manifests": deleted})
    remaining = len(manifests) - len(batch)
    if holdings.empty and not remaining:
        with transaction.atomic():
            namespace_forget(namespace=namespace, by=by, key="namespace.release", purged=deleted)
        return PurgeResult(deleted=deleted, remaining=0, released=True)
    # More than one batch, or tags pushed back meanwhile: the namespace stays retired; purge again.
    return PurgeResult(deleted=deleted, remaining=remaining or sum(map(len, holdings.tags.values())),
                       released=False)
