"""Version, ping and health."""

from __future__ import annotations

from importlib import metadata

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from api.base import PortusAPIView
from api.health import health_for
from api.schema import authed, errors


class VersionSerializer(serializers.Serializer):
    # Portus's field name is not a Python name.
    locals()["api-versions"] = serializers.ListField(child=serializers.CharField(), source="api_versions",
                                                     read_only=True)
    git = serializers.DictField(child=serializers.CharField(), read_only=True, allow_null=True,
                                help_text="Git tag, or branch and commit, when known.")
    version = serializers.CharField(read_only=True)

    class Meta:
        ref_name = "Version"


class HealthStatusSerializer(serializers.Serializer):
    msg = serializers.CharField(read_only=True)
    success = serializers.BooleanField(read_only=True)

    class Meta:
        ref_name = "HealthStatus"


class HealthSerializer(serializers.Serializer):
    # Not read-only, so that the schema can say which components may be absent.
    database = HealthStatusSerializer()
    registry = HealthStatusSerializer(required=False, help_text="Absent when the database is down.")
    background = HealthStatusSerializer(required=False, help_text="The background processes' heartbeat, when "
                                                                  "this installation records one.")
    inbox = HealthStatusSerializer(required=False, help_text="Whether the registry's events are processed in "
                                                             "time (health.max_inbox_lag).")

    class Meta:
        ref_name = "Health"


class HealthSummarySerializer(serializers.Serializer):
    success = serializers.BooleanField(read_only=True, help_text="Whether every component is healthy.")

    class Meta:
        ref_name = "HealthSummary"


HEALTH_ANSWER = PolymorphicProxySerializer(component_name="HealthAnswer", resource_type_field_name=None,
                                           serializers=[HealthSerializer, HealthSummarySerializer])


def portus_version() -> str:
    try:
        return metadata.version("portus")
    except metadata.PackageNotFoundError:
        return "unknown"


class VersionView(PortusAPIView):
    @extend_schema(tags=["version"], summary="The version of Portus and the API versions it serves",
                   responses={200: VersionSerializer, **authed()})
    def get(self, request):
        return self.present(VersionSerializer, {"api_versions": ["v1"], "git": None, "version": portus_version()})


class PingView(PortusAPIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(tags=["health"], summary="Is the API answering?", auth=[],
                   responses={200: {"type": "object", "description": "An empty object."}})
    def get(self, request):
        return Response({})


class HealthView(PortusAPIView):
    permission_classes = [AllowAny]

    @extend_schema(tags=["health"], summary="Health of the database, the registries and the background process",
                   description="Anyone may ask; only admins get each component (`Health`), everyone else "
                               "`{\"success\": …}`. Measured at most every few seconds.",
                   auth=[{}, {"portusAuth": []}, {"cookieAuth": []}],
                   responses={200: HEALTH_ANSWER,
                              503: OpenApiResponse(HEALTH_ANSWER, description="Some component is unhealthy."),
                              **errors(401)})
    def get(self, request):
        body, ok = health_for(request.user)
        return Response(body, status=200 if ok else 503)
