"""Writes about namespaces and repositories."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from activities.services import activity_record
from namespaces import policy
from namespaces.models import Namespace, Repository, Visibility
from portus.names import INTERNAL_NAME, is_reserved_name, is_valid_component
from registries.models import Registry
from teams.models import Team


def global_team_name(registry: Registry) -> str:
    return f"global/{registry.pk}"


def global_team_ensure(*, registry: Registry) -> Team:
    """The registry's hidden team: it owns the global namespace, retired namespaces and those nobody claimed."""
    team, _ = Team.objects.get_or_create(name=global_team_name(registry), defaults={"hidden": True})
    return team


def global_namespace_ensure(*, registry: Registry) -> Namespace:
    team = global_team_ensure(registry=registry)
    namespace, _ = Namespace.objects.get_or_create(
        registry=registry,
        is_global=True,
        defaults={"name": "", "team": team, "visibility": Visibility.PUBLIC,
                  "description": "Images named without a namespace."},
    )
    return namespace


def registry_namespaces_ensure(*, registry: Registry, **_) -> None:
    """A new registry's global namespace, and every user's personal namespace in it (registry_created)."""
    from accounts.models import User

    global_namespace_ensure(registry=registry)
    for user in User.objects.filter(personal_team__isnull=False):
        personal_namespace_ensure(user=user, registry=registry)


def personal_namespace_ensure(*, user, registry: Registry | None = None) -> list[Namespace]:
    """The user's personal (private) namespace in each registry, or the one given."""
    team = Team.objects.get(personal_of=user)
    registries = [registry] if registry else list(Registry.objects.all())
    found = []
    for reg in registries:
        namespace = Namespace.objects.filter(registry=reg, name=user.username).first()
        if namespace is None:
            namespace = Namespace.objects.create(
                registry=reg, name=user.username, team=team, visibility=Visibility.PRIVATE,
                description=f"Personal namespace of {user.username}.",
            )
        found.append(namespace)
    return found


def reserved_namespace_error(name: str) -> str | None:
    """Why a new user may not be called `name` (their personal namespace would carry it), or None."""
    namespaces = Namespace.objects.filter(name=name, is_global=False)
    if namespaces.filter(retired_at__isnull=False).exists():
        from namespaces.retirement import RESERVED_MESSAGE

        return RESERVED_MESSAGE
    if namespaces.exists():
        return "This name is taken by a namespace."
    return None


def validate_namespace_name(name: str, *, registry: Registry, exclude_pk: int | None = None, by=None) -> str:
    """The name, stripped, if `by` may give it to a new namespace. Reserved names (portus.names): the internal
    account's never, the others only by an admin (user names and namespace names share one name space)."""
    name = (name or "").strip()
    if not is_valid_component(name):
        raise ValidationError(
            {"name": "Use lowercase letters and digits, separated by single '.', '_', '__' or dashes."}
        )
    if is_reserved_name(name) and (name == INTERNAL_NAME or not policy.is_admin(by)):
        raise ValidationError({"name": "This name is reserved: choose another."})
    from accounts.models import User

    if User.objects.filter(username=name).exists():
        # Reserved for that user's personal namespace (in registries added later too).
        raise ValidationError({"name": "This name belongs to a user's personal namespace."})
    taken = Namespace.objects.filter(registry=registry, name=name)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    if taken.filter(retired_at__isnull=False).exists():
        from namespaces.retirement import RESERVED_MESSAGE

        raise ValidationError({"name": RESERVED_MESSAGE})
    if taken.exists():
        raise ValidationError({"name": "This namespace name is already taken."})
    return name


@transaction.atomic
def namespace_create(
    *, name: str, team: Team, by, description: str = "", visibility: str = Visibility.PRIVATE,
    registry: Registry | None = None,
) -> Namespace:
    registry = registry or Registry.default()
    if registry is None:
        raise ValidationError({"registry": "Add a registry first."})
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": "Use private, protected or public."})
    name = validate_namespace_name(name, registry=registry, by=by)
    namespace = Namespace.objects.create(
        registry=registry, name=name, team=team, description=description, visibility=visibility
    )
    activity_record(key="namespace.create", owner=by, target=namespace, namespace=namespace, team=team)
    return namespace


def namespace_rename_refusal(namespace: Namespace) -> str | None:
    """Why the namespace cannot be renamed now, or None. The registry stores images under the namespace's
    name and has no rename: renaming one that holds repositories would orphan them there, so only an empty
    namespace is renamed (the UI says so beside the name)."""
    if namespace.is_global or namespace.is_personal:
        return "Personal and global namespaces cannot be renamed."
    if namespace.is_retired:
        return "A retired namespace cannot be renamed."
    if namespace.repositories.exists():
        return ("A namespace that holds repositories cannot be renamed: the registry stores their images under "
                "this name. Delete its repositories first, or create a namespace with the new name and push there.")
    if namespace.robots.exists():
        return ("A namespace with robots cannot be renamed: their login names (robot$<namespace>+<name>) carry "
                "its name. Delete them first.")
    return None


RENAME_REGISTRY_HOLDS = ("The registry holds images under this name, or could not be asked: a namespace is "
                         "renamed only while nothing is stored under its name. Try again once the registry "
                         "answers, or delete those images first.")


def namespace_update(
    *, namespace: Namespace, by, name: str | None = None, description: str | None = None,
    team: Team | None = None, visibility: str | None = None,
) -> Namespace:
    """Applies the changes the caller was allowed to make (the caller asks the policy first). A rename first
    asks the registry, outside the transaction, whether it holds images under the name (pushed but not yet
    reported here, say): those would stay behind under the old name."""
    if name is not None and name.strip() != namespace.name and namespace_rename_refusal(namespace) is None:
        from namespaces.retirement import holds_images

        if holds_images(namespace):
            raise ValidationError({"name": RENAME_REGISTRY_HOLDS})
    return _namespace_update(namespace=namespace, by=by, name=name, description=description, team=team,
                             visibility=visibility)


@transaction.atomic
def _namespace_update(
    *, namespace: Namespace, by, name: str | None, description: str | None, team: Team | None,
    visibility: str | None,
) -> Namespace:
    if name is not None and name != namespace.name:
        refusal = namespace_rename_refusal(namespace)
        if refusal:
            raise ValidationError({"name": refusal})
        old = namespace.name
        namespace.name = validate_namespace_name(name, registry=namespace.registry, exclude_pk=namespace.pk,
                                                 by=by)
        activity_record(key="namespace.change_namespace_name", owner=by, target=namespace, namespace=namespace,
                        parameters={"old": old, "new": namespace.name})
    if description is not None and description != namespace.description:
        namespace.description = description
        activity_record(key="namespace.change_namespace_description", owner=by, target=namespace,
                        namespace=namespace)
    if team is not None and team.pk != namespace.team_id:
        if namespace.is_global or namespace.is_personal:
            raise ValidationError({"team": "Personal and global namespaces stay with their owner."})
        if team.hidden:
            raise ValidationError({"team": "Choose a regular team."})
        old_team = namespace.team.name
        namespace.team = team
        activity_record(key="namespace.change_team", owner=by, target=namespace, namespace=namespace, team=team,
                        parameters={"old": old_team, "new": team.name})
    if visibility is not None and visibility != namespace.visibility:
        if visibility not in Visibility.values:
            raise ValidationError({"visibility": "Use private, protected or public."})
        namespace.visibility = visibility
        activity_record(key=f"namespace.{visibility}", owner=by, target=namespace, namespace=namespace,
                        parameters={"visibility": visibility})
    namespace.save()
    return namespace


def namespace_delete(*, namespace: Namespace, by) -> bool:
    """Deletes a team's namespace; returns whether it was retired rather than forgotten.

    One that may still have images in the registry is retired (namespaces/retirement.py: kept for admins, its
    name reserved until an admin releases or purges it); one with no image here nor in the registry is
    forgotten at once. The registry is asked before the transaction (no registry call holds database locks)."""
    from namespaces.retirement import holds_images, namespace_retire

    if namespace.is_global or namespace.is_personal or namespace.is_retired:
        raise ValidationError({"namespace": "Personal, global and retired namespaces cannot be deleted."})
    retire = holds_images(namespace)
    with transaction.atomic():
        namespace = Namespace.objects.select_for_update().select_related("team", "registry").get(pk=namespace.pk)
        team = namespace.team
        activity_record(key="namespace.delete", owner=by, target_type="namespace", target_name=namespace.name,
                        team=team, parameters={"retired": retire})
        if retire:
            namespace_retire(namespace=namespace, by=by, former_owner=f"team {team.name}")
        else:
            namespace.delete()
    return retire


def namespace_for_push(*, registry: Registry, name: str, user) -> Namespace | None:
    """The namespace a push goes into; created on the fly when an admin pushes to a new name.

    Rule: personal namespaces always exist. A namespace that does not exist yet is created when an
    admin is granted a push into it (owned by the admin's personal team, private, movable to a team
    later), so the image is visible as soon as the registry reports it. Others must create the
    namespace first (in the UI or the API); until then their push is refused.
    """
    if name == "":
        return global_namespace_ensure(registry=registry)
    namespace = Namespace.objects.select_related("team").filter(registry=registry, name=name).first()
    if namespace is not None or not policy.is_admin(user) or not is_valid_component(name) or name == INTERNAL_NAME:
        return namespace
    team = Team.objects.get(personal_of=user)
    try:
        with transaction.atomic():
            namespace = Namespace.objects.create(registry=registry, name=name, team=team,
                                                 visibility=Visibility.PRIVATE)
    except IntegrityError:
        return Namespace.objects.select_related("team").get(registry=registry, name=name)
    activity_record(key="namespace.create", owner=user, target=namespace, namespace=namespace, team=team,
                    parameters={"on_push": True})
    return namespace


def repository_update(*, repository: Repository, by, description: str) -> Repository:
    if description != repository.description:
        repository.description = description
        repository.save(update_fields=["description", "updated_at"])
        activity_record(key="repository.change_description", owner=by, target=repository,
                        namespace=repository.namespace)
    return repository
