"""Registries (admins only)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema

from api.base import PortusAPIView
from api.schema import PAGINATED, PAGING_PARAMETERS, authed, path_id, sorting, with_body
from api.serializers.common import StatusSerializer
from api.serializers.registries import (
    NotificationSecretInput,
    NotificationSecretSerializer,
    RegistryCreateInput,
    RegistrySerializer,
    RegistryUpdateInput,
    RegistryValidateQuery,
)
from namespaces import policy
from registries import services
from registries.models import Registry

REGISTRY_SORT_FIELDS = {"id": "pk", "name": "name", "hostname": "hostname", "created_at": "created_at"}


class RegistriesView(PortusAPIView):
    @extend_schema(tags=["registries"], summary="List registries (admins)",
                   parameters=[*PAGING_PARAMETERS, *sorting(REGISTRY_SORT_FIELDS)],
                   responses={200: RegistrySerializer(many=True), **authed(400, 403)}, extensions={PAGINATED: True})
    def get(self, request):
        self.allow(policy.is_admin(request.user))
        return self.present_page(RegistrySerializer, Registry.objects.all(), sort_fields=REGISTRY_SORT_FIELDS)

    @extend_schema(tags=["registries"], summary="Add a registry (admins); it must answer at hostname",
                   request=RegistryCreateInput, responses={201: RegistrySerializer, **with_body(403, 422)})
    def post(self, request):
        self.allow(policy.is_admin(request.user))
        data = self.read(RegistryCreateInput)["registry"]
        registry = services.registry_create(name=data["name"], hostname=data["hostname"], use_ssl=data["use_ssl"],
                                            external_hostname=data["external_hostname"], by=request.user)
        return self.present(RegistrySerializer, registry, status_code=201)


class RegistryView(PortusAPIView):
    @extend_schema(tags=["registries"], summary="Change a registry (admins)",
                   parameters=[path_id("id")],
                   request=RegistryUpdateInput, responses={200: RegistrySerializer, **with_body(403, 404, 422)})
    def put(self, request, id: int):
        self.allow(policy.is_admin(request.user))
        registry = self.found(Registry.objects.all(), pk=id)
        data = self.read(RegistryUpdateInput)["registry"]
        services.registry_update(registry=registry, by=request.user, name=data.get("name"),
                                 hostname=data.get("hostname"), use_ssl=data.get("use_ssl"),
                                 external_hostname=data.get("external_hostname"))
        return self.present(RegistrySerializer, registry)

    @extend_schema(tags=["registries"], summary="Delete a registry (admins)",
                   description="Refused (422, naming them) while namespaces depend on it: every team's, retired "
                               "or push-created namespace, and any holding repositories, robots, webhooks or "
                               "grants. Empty personal and global namespaces go with it. The registry's storage "
                               "is not touched.",
                   parameters=[path_id("id")], responses={204: None, **authed(403, 404, 422)})
    def delete(self, request, id: int):
        self.allow(policy.is_admin(request.user))
        registry = self.found(Registry.objects.all(), pk=id)
        services.registry_delete(registry=registry, by=request.user)
        return self.no_content()


class RegistryNotificationSecretView(PortusAPIView):
    @extend_schema(tags=["registries"], summary="Make a new notification secret for a registry (admins)",
                   description="The secret is in this response only. The previous one is still accepted for "
                               "a day (time to restart the registry with the new one) unless `revoke_previous`.",
                   parameters=[path_id("id")], request=NotificationSecretInput,
                   responses={201: NotificationSecretSerializer, **with_body(400, 403, 404)})
    def post(self, request, id: int):
        self.allow(policy.is_admin(request.user))
        registry = self.found(Registry.objects.all(), pk=id)
        data = self.read(NotificationSecretInput)
        made = services.registry_notification_secret_rotate(registry=registry, by=request.user,
                                                            keep_previous=not data["revoke_previous"])
        return self.present(NotificationSecretSerializer, {
            "secret": made.plain, "prefix": made.registry.notification_secret_prefix,
            "previous_valid_until": made.previous_valid_until}, status_code=201)


def validation_messages(*, name: str, hostname: str, use_ssl: bool, external_hostname: str,
                        check_reachability: bool) -> dict[str, list[str]]:
    """What registry_create would refuse, field by field (all of them, not just the first)."""
    messages: dict[str, list[str]] = {}

    def add(field: str, text: str) -> None:
        messages.setdefault(field, []).append(text)

    name = name.strip()
    if not name:
        add("name", "Name the registry.")
    elif Registry.objects.filter(name=name).exists():
        add("name", "A registry with this name already exists.")
    for field, value in (("hostname", hostname), ("external_hostname", external_hostname)):
        if field == "external_hostname" and not value:
            continue
        try:
            value = services.validate_hostname(value, field)
        except DjangoValidationError as exc:
            for text in exc.message_dict.get(field, []):
                add(field, text)
            continue
        if field == "hostname" and Registry.objects.filter(hostname=value).exists():
            add(field, "A registry with this host name already exists.")
    if check_reachability and "hostname" not in messages:
        result = services.registry_check(hostname=hostname.strip().lower(), use_ssl=use_ssl)
        if not result.ok:
            add("hostname", result.message)
    return messages


class RegistryValidateView(PortusAPIView):
    @extend_schema(
        tags=["registries"], summary="Check registry settings without saving them (admins)",
        description="`messages` names each field in error; the host name is also checked for reachability "
                    "unless `only` leaves it out.",
        parameters=[
            OpenApiParameter("name", str, required=True),
            OpenApiParameter("hostname", str, required=True),
            OpenApiParameter("use_ssl", bool, required=True),
            OpenApiParameter("external_hostname", str),
            OpenApiParameter("only", str, many=True, explode=True,
                             enum=["name", "hostname", "external_hostname", "use_ssl"],
                             description="Only validate these fields."),
        ],
        responses={200: StatusSerializer, **authed(400, 403)},
    )
    def get(self, request):
        self.allow(policy.is_admin(request.user))
        query = {key: request.query_params.get(key) for key in ("name", "hostname", "use_ssl", "external_hostname")
                 if key in request.query_params}
        only = request.query_params.getlist("only") + request.query_params.getlist("only[]")
        if only:
            query["only"] = only
        params = self.read(RegistryValidateQuery, data=query)
        only = params.get("only")
        messages = validation_messages(name=params["name"], hostname=params["hostname"], use_ssl=params["use_ssl"],
                                       external_hostname=params["external_hostname"],
                                       check_reachability=not only or "hostname" in only)
        if only:
            messages = {field: texts for field, texts in messages.items() if field in only}
        return self.present(StatusSerializer, {"messages": messages, "valid": not messages})
