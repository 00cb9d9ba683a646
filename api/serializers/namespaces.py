"""Namespaces."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.common import MarkdownField, count_of
from hooks.models import Webhook
from namespaces import policy
from namespaces.models import Namespace, Repository, Visibility

NAMESPACE_SORT_FIELDS = {"id": "pk", "name": "name", "created_at": "created_at", "updated_at": "updated_at",
                         "visibility": "visibility"}


def namespaces_queryset(queryset=None, user=None):
    """Namespaces with their repository counts; with `user`, the count of the repositories that user sees
    (a grantee counts the granted ones, not the namespace's others)."""
    queryset = Namespace.objects.all() if queryset is None else queryset
    repositories = Repository.objects.all() if user is None else Repository.objects.visible_to(user)
    return queryset.select_related("team", "registry").annotate(
        repositories_count=count_of(repositories, "namespace"),
        webhooks_count=count_of(Webhook.objects.all(), "namespace"),
    )


def namespace_name(namespace: Namespace) -> str:
    """Portus's `clean_name`: a global namespace is called by its registry's host name."""
    return namespace.registry.hostname if namespace.is_global else namespace.name


class NamespaceTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    hidden = serializers.BooleanField(read_only=True)

    class Meta:
        ref_name = "NamespaceTeam"


class NamespaceRegistrySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    hostname = serializers.CharField(source="reference_host", read_only=True,
                                     help_text="The host clients push to and pull from.")

    class Meta:
        ref_name = "NamespaceRegistry"


class PermissionsSerializer(serializers.Serializer):
    role = serializers.CharField(read_only=True, allow_null=True,
                                 help_text="owner, contributor, viewer, admin, or null.")
    pull = serializers.BooleanField(read_only=True)
    push = serializers.BooleanField(read_only=True)
    delete = serializers.BooleanField(read_only=True)
    manage = serializers.BooleanField(read_only=True)
    destroy = serializers.BooleanField(read_only=True)
    change_visibility = serializers.BooleanField(read_only=True)
    visibility = serializers.BooleanField(read_only=True, help_text="Portus's name for change_visibility.")
    webhooks = serializers.BooleanField(read_only=True)

    class Meta:
        ref_name = "NamespacePermissions"


class NamespaceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    description = serializers.CharField(read_only=True)
    description_md = MarkdownField(source="description")
    team = NamespaceTeamSerializer(read_only=True)
    # Not in Portus, which had one registry: with several, the same name may live in each.
    registry = NamespaceRegistrySerializer(read_only=True, help_text="The registry this namespace lives in.")
    repositories_count = serializers.IntegerField(read_only=True)
    webhooks_count = serializers.IntegerField(read_only=True, default=0)
    visibility = serializers.ChoiceField(choices=Visibility.choices, read_only=True)
    # `global` is a Python keyword.
    locals()["global"] = serializers.BooleanField(source="is_global", read_only=True,
                                                  help_text="Whether this is a registry's global namespace.")
    orphan = serializers.SerializerMethodField(help_text="A hidden team's namespace that belongs to nobody.")
    updatable = serializers.SerializerMethodField()
    destroyable = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()

    class Meta:
        ref_name = "Namespace"

    def get_name(self, namespace: Namespace) -> str:
        return namespace_name(namespace)

    def get_orphan(self, namespace: Namespace) -> bool:
        return namespace.team.hidden and not namespace.is_global and namespace.team.personal_of_id is None

    def get_updatable(self, namespace: Namespace) -> bool:
        return policy.can_manage_namespace(self.context["user"], namespace)

    def get_destroyable(self, namespace: Namespace) -> bool:
        return policy.can_destroy_namespace(self.context["user"], namespace)

    @extend_schema_field(PermissionsSerializer)
    def get_permissions(self, namespace: Namespace) -> dict:
        user = self.context["user"]
        allowed = policy.namespace_permissions(user, namespace)
        role = policy.team_role(user, namespace.team_id)
        if role is None and policy.is_admin(user):
            role = "admin"
        portus_keys = ("pull", "push", "delete", "manage", "destroy", "change_visibility", "webhooks")
        return {"role": role, **{key: allowed[key] for key in portus_keys},
                "visibility": allowed["change_visibility"]}


class RetiredNamespaceSerializer(NamespaceSerializer):
    """A retired namespace, for admins: Portus's fields, and whose it was, who retired it and when."""

    retired_at = serializers.DateTimeField(read_only=True)
    retired_by = serializers.SerializerMethodField()
    former_owner = serializers.CharField(read_only=True, help_text='"user ivan" or "team Developers".')

    class Meta:
        ref_name = "RetiredNamespace"

    def get_retired_by(self, namespace: Namespace) -> str | None:
        return namespace.retired_by.username if namespace.retired_by_id and namespace.retired_by else None


class PurgeResultSerializer(serializers.Serializer):
    deleted = serializers.IntegerField(read_only=True, help_text="Manifests deleted from the registry by this call.")
    remaining = serializers.IntegerField(read_only=True, help_text="Manifests left: purge again.")
    released = serializers.BooleanField(read_only=True, help_text="The registry holds nothing more: the name is free.")

    class Meta:
        ref_name = "NamespacePurgeResult"


class NamespaceCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    team = serializers.CharField(max_length=255, help_text="The name of the team that owns it.")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False, default=Visibility.PRIVATE)

    class Meta:
        ref_name = "NamespaceCreate"


class NamespaceUpdateFields(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    team = serializers.CharField(max_length=255, required=False, help_text="Move it to this team (by name).")
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)

    class Meta:
        ref_name = "NamespaceUpdateFields"


class NamespaceUpdateInput(serializers.Serializer):
    namespace = NamespaceUpdateFields()

    class Meta:
        ref_name = "NamespaceUpdate"
