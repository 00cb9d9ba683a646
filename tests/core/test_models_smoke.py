"""Creating the named actors builds personal teams and namespaces."""

from namespaces.models import Namespace


def test_user_gets_personal_namespace(owner, registry):
    ns = Namespace.objects.get(registry=registry, name="olivia")
    assert ns.team.personal_of == owner
    assert ns.visibility == "private"
    assert ns.is_personal


def test_registry_has_global_namespace(registry):
    ns = Namespace.objects.get(registry=registry, is_global=True)
    assert ns.visibility == "public"
    assert ns.team.hidden


def test_user_names_and_namespace_names_do_not_collide(namespace, registry):
    import pytest
    from django.core.exceptions import ValidationError

    from accounts.services import user_create
    from namespaces.services import namespace_create

    with pytest.raises(ValidationError, match="taken by a namespace"):
        user_create(username="qa", email="qa@example.org", password="long-enough-pw", check_password=False)
    with pytest.raises(ValidationError, match="personal namespace"):
        namespace_create(name="carl", team=namespace.team, by=None, registry=registry)


def test_activity_is_listed_once_however_many_members(team, owner, contributor, viewer):
    from activities.models import Activity
    from activities.services import activity_record

    activity_record(key="team.custom", owner=owner, target=team, team=team)
    rows = list(Activity.objects.visible_to(viewer).filter(key="team.custom"))
    assert len(rows) == 1
