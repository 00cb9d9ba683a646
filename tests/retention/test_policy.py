"""Who manages tag retention: a table of role × namespace kind × account state, and the queryset agrees."""

from __future__ import annotations

import pytest
from django.utils import timezone

from namespaces import policy
from namespaces.models import Namespace
from namespaces.services import global_namespace_ensure

pytestmark = pytest.mark.django_db


@pytest.fixture
def kinds(namespace, registry):
    retired = Namespace.objects.create(registry=registry, name="gone", team=namespace.team,
                                       retired_at=timezone.now())
    return {"team": namespace, "global": global_namespace_ensure(registry=registry), "retired": retired}


# role → (team namespace, global, retired, the instance)
TABLE = {
    "admin": (True, True, True, True),
    "owner": (True, False, False, False),
    "contributor": (False, False, False, False),
    "viewer": (False, False, False, False),
    "outsider": (False, False, False, False),
    "bot": (False, False, False, False),
}


@pytest.mark.parametrize("role", sorted(TABLE))
def test_table(request, kinds, role):
    user = request.getfixturevalue(role)
    got = (policy.can_manage_retention(user, kinds["team"]), policy.can_manage_retention(user, kinds["global"]),
           policy.can_manage_retention(user, kinds["retired"]), policy.can_manage_retention(user, None))
    assert got == TABLE[role]
    chosen = set(Namespace.objects.filter(policy.retention_namespaces_q(user)).filter(
        pk__in=[n.pk for n in kinds.values()]).values_list("pk", flat=True))
    assert chosen == {n.pk for name, n in kinds.items() if policy.can_manage_retention(user, n)}


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_a_disabled_account_manages_nothing(request, kinds, role):
    user = request.getfixturevalue(role)
    user.enabled = False
    user.save()
    assert not policy.can_manage_retention(user, kinds["team"]) and not policy.can_manage_retention(user, None)
    assert not Namespace.objects.filter(policy.retention_namespaces_q(user)).exists()


def test_anonymous_manages_nothing(kinds):
    from django.contrib.auth.models import AnonymousUser

    assert not policy.can_manage_retention(AnonymousUser(), kinds["team"])
    assert not Namespace.objects.filter(policy.retention_namespaces_q(AnonymousUser())).exists()
