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
