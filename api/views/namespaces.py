"""Namespaces and their repositories. A namespace the caller may not pull from is 404."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError

from api.base import PortusAPIView
from api.errors import FeatureDisabled
from api.schema import PAGINATED, PAGING_PARAMETERS, authed, path_id, sorting, with_body
from api.serializers.common import StatusSerializer
from api.serializers.namespaces import (
    NAMESPACE_SORT_FIELDS,
    NamespaceCreateInput,
    NamespaceSerializer,
    NamespaceUpdateInput,
    PurgeResultSerializer,
    RetiredNamespaceSerializer,
    namespaces_queryset,
)
from api.serializers.repositories import REPOSITORY_SORT_FIELDS, RepositorySerializer, repositories_queryset
from namespaces import policy, retirement, services
from namespaces.models import Namespace, Repository, Visibility
from portus.options import option
from registries.models import Registry
from teams.models import Team

NAMESPACE_ID = path_id("id", "Namespace id.")


class NamespaceMixin:
    def namespace(self, pk: int) -> Namespace:
        user = self.request.user
        return self.found(namespaces_queryset(Namespace.objects.visible_to(user), user), pk=pk)

    def team_named(self, name: str) -> Team:
        team = Team.objects.visible_to(self.request.user).filter(name=name).first()
        if team is None:
            raise ValidationError({"team": ["No team of yours has this name."]})
        return team


class NamespacesView(NamespaceMixin, PortusAPIView):
    @extend_schema(tags=["namespaces"], summary="List the namespaces the caller may pull from",
                   parameters=[*PAGING_PARAMETERS, *sorting(NAMESPACE_SORT_FIELDS)],
                   responses={200: NamespaceSerializer(many=True), **authed(400)}, extensions={PAGINATED: True})
    def get(self, request):
        return self.present_page(NamespaceSerializer, namespaces_queryset(Namespace.objects.visible_to(request.user),
                                                                       request.user),
                                 sort_fields=NAMESPACE_SORT_FIELDS)

    @extend_schema(tags=["namespaces"], summary="Create a namespace in a team", request=NamespaceCreateInput,
                   responses={201: NamespaceSerializer, **with_body(403, 422)})
    def post(self, request):
        data = self.read(NamespaceCreateInput)
        team = self.team_named(data["team"])
        self.allow(policy.can_create_namespace(request.user, team))
        if data["visibility"] != Visibility.PRIVATE:
            self.allow(policy.can_change_visibility(request.user, Namespace(team=team)),
                       "You may not choose the visibility of this team's namespaces.")
        namespace = services.namespace_create(name=data["name"], team=team, by=request.user,
                                              description=data["description"], visibility=data["visibility"])
        return self.present(NamespaceSerializer, self.namespace(namespace.pk), status_code=201)


class NamespaceValidateView(PortusAPIView):
    @extend_schema(tags=["namespaces"], summary="Check a namespace name",
                   parameters=[OpenApiParameter("name", str, required=True)],
                   responses={200: StatusSerializer, **authed(400)})
    def get(self, request):
        name = request.query_params.get("name")
        if name is None:
            raise ValidationError({"name": ["This field is required."]})
        messages: dict[str, list[str]] = {}
        registry = Registry.default()
        if registry is None:
            messages["registry"] = ["Add a registry first."]
        else:
            try:
                services.validate_namespace_name(name, registry=registry, by=request.user)
            except DjangoValidationError as exc:
                messages = exc.message_dict
        return self.present(StatusSerializer, {"messages": messages, "valid": not messages})


class NamespaceView(NamespaceMixin, PortusAPIView):
    @extend_schema(tags=["namespaces"], summary="Show a namespace", parameters=[NAMESPACE_ID],
                   responses={200: NamespaceSerializer, **authed(404)})
    def get(self, request, id: int):
        return self.present(NamespaceSerializer, self.namespace(id))

    @extend_schema(tags=["namespaces"], summary="Rename, describe, move or change the visibility of a namespace",
                   parameters=[NAMESPACE_ID], request=NamespaceUpdateInput,
                   responses={200: NamespaceSerializer, **with_body(403, 404, 422)})
    def put(self, request, id: int):
        namespace = self.namespace(id)
        data = self.read(NamespaceUpdateInput)["namespace"]
        user = request.user
        if {"name", "description", "team"} & data.keys():
            self.allow(policy.can_manage_namespace(user, namespace))
        if "name" in data and data["name"] != namespace.name:
            # As the web UI's Edit page: the policy decides whether this namespace may be renamed at all (a
            # personal or global one never is: 403); namespace_update says why an allowed one cannot be now (422).
            self.allow(policy.can_rename_namespace(user, namespace))
        if data.get("visibility", namespace.visibility) != namespace.visibility:
            self.allow(policy.can_change_visibility(user, namespace))
        team = None
        if "team" in data:
            team = self.team_named(data["team"])
            if team.pk != namespace.team_id:
                self.allow(policy.can_move_namespace(user, namespace, team))
        services.namespace_update(namespace=namespace, by=user, name=data.get("name"),
                                  description=data.get("description"), team=team, visibility=data.get("visibility"))
        return self.present(NamespaceSerializer, self.namespace(id))

    @extend_schema(tags=["namespaces"], summary="Delete a namespace (retired while the registry may hold its images)",
                   description="A namespace that may still have images in the registry is retired: kept for "
                               "admins, its name reserved until an admin releases or purges it. One with no "
                               "image is deleted. Either way the answer is 204.",
                   parameters=[NAMESPACE_ID], responses={204: None, **authed(403, 404, 422)})
    def delete(self, request, id: int):
        namespace = self.namespace(id)
        self.allow(policy.can_destroy_namespace(request.user, namespace))
        services.namespace_delete(namespace=namespace, by=request.user)
        return self.no_content()


class NamespaceRepositoriesView(NamespaceMixin, PortusAPIView):
    @extend_schema(tags=["namespaces"], summary="List a namespace's repositories",
                   parameters=[NAMESPACE_ID, *PAGING_PARAMETERS, *sorting(REPOSITORY_SORT_FIELDS)],
                   responses={200: RepositorySerializer(many=True), **authed(400, 404)}, extensions={PAGINATED: True})
    def get(self, request, id: int):
        namespace = self.namespace(id)
        visible = (Repository.objects.filter(namespace=namespace) if policy.can_pull(request.user, namespace)
                   else Repository.objects.visible_to(request.user).filter(namespace=namespace))
        repositories = repositories_queryset(visible, request.user)
        return self.present_page(RepositorySerializer, repositories, sort_fields=REPOSITORY_SORT_FIELDS)


class RetiredNamespacesView(PortusAPIView):
    @extend_schema(tags=["namespaces"], summary="List retired namespaces (admins)",
                   parameters=[*PAGING_PARAMETERS, *sorting(NAMESPACE_SORT_FIELDS)],
                   responses={200: RetiredNamespaceSerializer(many=True), **authed(400, 403)},
                   extensions={PAGINATED: True})
    def get(self, request):
        self.allow(policy.is_admin(request.user))
        retired = namespaces_queryset(Namespace.objects.filter(retired_at__isnull=False)).select_related("retired_by")
        return self.present_page(RetiredNamespaceSerializer, retired, sort_fields=NAMESPACE_SORT_FIELDS)


class RetiredNamespaceMixin(NamespaceMixin):
    def retired(self, pk: int) -> Namespace:
        namespace = self.namespace(pk)
        self.allow(policy.is_admin(self.request.user))
        if not namespace.is_retired:
            raise DjangoValidationError({"namespace": "Only a retired namespace is released or purged: delete it "
                                                      "first."})
        return namespace


class NamespaceReleaseView(RetiredNamespaceMixin, PortusAPIView):
    @extend_schema(tags=["namespaces"], summary="Free a retired namespace's name (admins)",
                   description="Allowed once the registry holds no tagged image under the name (else 422: purge).",
                   parameters=[NAMESPACE_ID], request=None, responses={204: None, **authed(403, 404, 422)})
    def post(self, request, id: int):
        namespace = self.retired(id)
        self.allow(policy.can_release_namespace(request.user, namespace))
        retirement.namespace_release(namespace=namespace, by=request.user)
        return self.no_content()


class NamespacePurgeView(RetiredNamespaceMixin, PortusAPIView):
    @extend_schema(tags=["namespaces"], summary="Delete a retired namespace's images in the registry, then free "
                                                "its name (admins)",
                   description=f"At most {retirement.MAX_PURGE_MANIFESTS} manifests per call: while `released` is "
                               "false, call again. 405 when deletes are disabled.",
                   parameters=[NAMESPACE_ID], request=None,
                   responses={200: PurgeResultSerializer, **authed(403, 404, 405, 422)})
    def post(self, request, id: int):
        if not option("delete.enabled"):
            raise FeatureDisabled()
        namespace = self.retired(id)
        self.allow(policy.can_purge_namespace(request.user, namespace))
        return self.present(PurgeResultSerializer, retirement.namespace_purge(namespace=namespace, by=request.user))
