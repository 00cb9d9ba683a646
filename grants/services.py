"""Writes about per-repository grants (who may give them: namespaces/policy.py, can_manage_grants)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from activities.services import activity_record
from grants.models import RANK, Permission, RepositoryGrant
from grants.patterns import is_pattern, like_pattern, validate_pattern
from namespaces import policy
from portus.names import validate_repository_name

# A namespace with more grants than this is better served by teams; the bound keeps the policy's
# per-request read of one user's grants small.
MAX_GRANTS_PER_NAMESPACE = 500


def _check_pattern(pattern: str) -> str:
    pattern = (pattern or "").strip()
    try:
        validate_pattern(pattern)
        if not is_pattern(pattern):
            validate_repository_name(pattern)
    except ValidationError as exc:
        raise ValidationError({"pattern": exc.messages}) from None
    return pattern


def _check_grantee(*, namespace, user, team) -> None:
    if (user is None) == (team is None):
        raise ValidationError({"grantee": "Grant to one user, robot or team."})
    if user is not None:
        if user.is_internal:
            raise ValidationError({"grantee": "The internal portus account needs no grants."})
        if user.robot_namespace_id is not None and user.robot_namespace_id != namespace.pk:
            raise ValidationError({"grantee": "A namespace's robot acts in its own namespace only."})
    if team is not None and team.hidden:
        raise ValidationError({"grantee": "Grant to a team, or to the user directly."})


def _check_permission(permission: str) -> str:
    if permission not in RANK:
        raise ValidationError({"permission": "Choose pull, push or admin."})
    return permission


@transaction.atomic
def grant_create(*, namespace, pattern: str, permission: str, by, user=None, team=None) -> RepositoryGrant:
    if namespace.is_global or namespace.retired_at is not None:
        raise ValidationError({"namespace": "Grants are given in a team's or user's namespace that stands."})
    pattern = _check_pattern(pattern)
    permission = _check_permission(permission)
    _check_grantee(namespace=namespace, user=user, team=team)
    if RepositoryGrant.objects.filter(namespace=namespace).count() >= MAX_GRANTS_PER_NAMESPACE:
        raise ValidationError({"namespace": f"A namespace holds at most {MAX_GRANTS_PER_NAMESPACE} grants."})
    grant = RepositoryGrant(namespace=namespace, pattern=pattern, like_pattern=like_pattern(pattern),
                            permission=permission, user=user, team=team, created_by=by)
    try:
        with transaction.atomic():
            grant.save()
    except IntegrityError:
        raise ValidationError({"pattern": "This grantee already has a grant on this repository or pattern: "
                                          "change it instead."}) from None
    activity_record(key="grant.create", owner=by, target=namespace, namespace=namespace,
                    parameters=_described(grant))
    _forget(by)
    return grant


@transaction.atomic
def grant_change(*, grant: RepositoryGrant, permission: str, by) -> RepositoryGrant:
    permission = _check_permission(permission)
    if permission != grant.permission:
        before = grant.permission
        grant.permission = permission
        grant.save(update_fields=["permission", "updated_at"])
        activity_record(key="grant.change", owner=by, target=grant.namespace, namespace=grant.namespace,
                        parameters={**_described(grant), "before": before})
        _forget(by)
    return grant


@transaction.atomic
def grant_delete(*, grant: RepositoryGrant, by) -> None:
    activity_record(key="grant.delete", owner=by, target=grant.namespace, namespace=grant.namespace,
                    parameters=_described(grant))
    grant.delete()
    _forget(by)


def _described(grant: RepositoryGrant) -> dict:
    return {"pattern": grant.pattern, "permission": grant.permission, "grantee": grant.grantee_name}


def _forget(user) -> None:
    if user is not None:
        policy.forget_grants(user)


__all__ = ["Permission", "grant_change", "grant_create", "grant_delete"]
