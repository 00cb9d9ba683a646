"""Per-repository grants of a namespace (grants/): read by whoever may open the namespace's settings,
given, changed and taken away by its managers."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError

from accounts.models import User
from api.base import PortusAPIView
from api.schema import PAGINATED, PAGING_PARAMETERS, authed, path_id, sorting, with_body
from api.serializers.identity import GrantCreateInput, GrantSerializer, GrantUpdateInput, grants_queryset
from grants.services import grant_change, grant_create, grant_delete
from namespaces import policy
from namespaces.models import Namespace
from teams.models import Team

GRANT_SORT_FIELDS = {"id": "pk", "pattern": "pattern", "created_at": "created_at"}
NAMESPACE_ID = path_id("id", "Namespace id.")
GRANT_ID = path_id("grant_id", "Grant id.")


class GrantsMixin:
    def managed_namespace(self, pk: int) -> Namespace:
        namespace = self.found(Namespace.objects.visible_to(self.request.user).select_related("team", "registry"),
                               pk=pk)
        self.allow(policy.can_manage_grants(self.request.user, namespace))
        return namespace


class NamespaceGrantsView(GrantsMixin, PortusAPIView):
    @extend_schema(tags=["grants"], summary="List a namespace's per-repository grants (its managers)",
                   parameters=[NAMESPACE_ID, *PAGING_PARAMETERS, *sorting(GRANT_SORT_FIELDS)],
                   responses={200: GrantSerializer(many=True), **authed(400, 403, 404)}, extensions={PAGINATED: True})
    def get(self, request, id: int):
        namespace = self.managed_namespace(id)
        return self.present_page(GrantSerializer, grants_queryset().filter(namespace=namespace),
                                 sort_fields=GRANT_SORT_FIELDS)

    @extend_schema(tags=["grants"], summary="Give a user, robot or team pull, push or admin on a repository "
                                            "or a name pattern",
                   parameters=[NAMESPACE_ID], request=GrantCreateInput,
                   responses={201: GrantSerializer, **with_body(403, 404, 422)})
    def post(self, request, id: int):
        namespace = self.managed_namespace(id)
        data = self.read(GrantCreateInput)
        user = team = None
        if "user" in data:
            user = User.objects.select_related("robot_namespace").filter(username=data["user"]).first()
            if user is None:
                raise ValidationError({"user": ["No user or robot has this name."]})
        else:
            team = Team.objects.filter(name=data["team"], hidden=False).first()
            if team is None:
                raise ValidationError({"team": ["No team has this name."]})
        grant = grant_create(namespace=namespace, pattern=data["pattern"], permission=data["permission"],
                             by=request.user, user=user, team=team)
        return self.present(GrantSerializer, grants_queryset().get(pk=grant.pk), status_code=201)


class NamespaceGrantView(GrantsMixin, PortusAPIView):
    def grant(self, id: int, grant_id: int):
        namespace = self.managed_namespace(id)
        return self.found(grants_queryset().filter(namespace=namespace), pk=grant_id)

    @extend_schema(tags=["grants"], summary="Change a grant's permission", parameters=[NAMESPACE_ID, GRANT_ID],
                   request=GrantUpdateInput, responses={200: GrantSerializer, **with_body(403, 404, 422)})
    def put(self, request, id: int, grant_id: int):
        grant = self.grant(id, grant_id)
        data = self.read(GrantUpdateInput)
        grant_change(grant=grant, permission=data["permission"], by=request.user)
        return self.present(GrantSerializer, grants_queryset().get(pk=grant.pk))

    @extend_schema(tags=["grants"], summary="Take a grant away", parameters=[NAMESPACE_ID, GRANT_ID],
                   responses={204: None, **authed(403, 404)})
    def delete(self, request, id: int, grant_id: int):
        grant_delete(grant=self.grant(id, grant_id), by=request.user)
        return self.no_content()
