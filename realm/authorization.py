"""The token decision: (user, requested scopes, registry) → the access a token carries.

A pure function of its inputs and the database; the view only parses, calls it and signs. Lack of
permission is not an error: the answer is the intersection of what was asked and what is allowed.
"""

from __future__ import annotations

from namespaces import policy
from namespaces.models import Namespace
from namespaces.services import namespace_for_push
from portus.names import split_repository_name
from portus.prepared import INTEGER, TEXT, OneRow
from realm.scopes import ResourceScope, format_access
from registries.models import Registry

REPOSITORY_ACTIONS = ("pull", "push", "delete")

# The namespace of a scope, with its team: the ORM's own query, compiled once (portus/prepared.py).
_NAMESPACE_NAMED = OneRow(lambda registry, name: Namespace.objects.select_related("team")
                          .filter(registry_id=registry, name=name), registry=INTEGER, name=TEXT)


def _namespace(registry: Registry, name: str, *, user, wants_push: bool) -> Namespace | None:
    if name == "":
        if wants_push and policy.is_active(user):
            return namespace_for_push(registry=registry, name=name, user=user)  # made if missing
        return Namespace.objects.select_related("team").filter(registry=registry, is_global=True).first()
    # NUL: no name holds one, and PostgreSQL takes none in text (scopes are parsed from the client's query).
    namespace = _NAMESPACE_NAMED.get(registry=registry.pk, name=name) if "\x00" not in name else None
    if namespace is None and wants_push and policy.is_admin(user):
        return namespace_for_push(registry=registry, name=name, user=user)  # an admin's push makes it
    return namespace

def _repository_actions(user, registry: Registry, scope: ResourceScope,
                        token_actions: frozenset[str] | None,
                        namespaces: dict[tuple[str, bool], Namespace | None]) -> set[str]:
    requested = set(scope.actions)
    star = "*" in requested
    if star:
        requested = set(REPOSITORY_ACTIONS)
    if token_actions is not None:
        # The application token's scopes bound the answer whatever the user's role.
        requested &= token_actions
        if not requested:
            return set()
    namespace_name, repository_name = split_repository_name(scope.name)
    wants_push = "push" in requested
    key = (namespace_name, wants_push)
    if key not in namespaces:  # one lookup per namespace, however many of its repositories are asked
        namespaces[key] = _namespace(registry, namespace_name, user=user, wants_push=wants_push)
    namespace = namespaces[key]
    if namespace is None:
        # Nothing stored under this name yet: only admins may act on it (the registry answers 404).
        allowed = policy.actions_without_namespace(user)
    else:
        allowed = policy.repository_actions(user, namespace, repository_name, wanted=requested)
    granted = requested & allowed
    if star and granted >= set(REPOSITORY_ACTIONS):
        # Older registries ask for `*` to delete; keep the named actions too for newer ones.
        granted.add("*")
    return granted


def decide(*, user, registry: Registry, scopes: list[ResourceScope],
           token_actions: frozenset[str] | None = None) -> list[dict]:
    """The `access` list of the token: one entry per requested resource with its granted actions.

    `token_actions`: when the client signed in with an application token (or a refresh token minted
    with one), the registry actions its scopes allow; the answer never exceeds them."""
    access = []
    namespaces: dict[tuple[str, bool], Namespace | None] = {}
    for scope in scopes:
        if scope.type == "registry":
            if (scope.name == "catalog" and "*" in scope.actions and policy.is_admin(user)
                    and (token_actions is None or "*" in token_actions)):
                access.append(format_access(scope, {"*"}))
            continue
        if scope.type != "repository":
            continue
        granted = _repository_actions(user, registry, scope, token_actions, namespaces)
        if granted:
            access.append(format_access(scope, granted))
    return access
