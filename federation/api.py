"""REST API of robots' trust policies (keyless CI logins): list, create, switch on or off, remove."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound

from accounts.models import User
from api.base import PortusAPIView
from api.schema import PAGINATED, PAGING_PARAMETERS, authed, path_id, with_body
from federation import trust
from federation.models import TrustPolicy
from namespaces import policy

SORT_FIELDS = {"id": "pk", "created_at": "created_at", "last_used_at": "last_used_at", "issuer": "issuer"}


class TrustPolicySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    robot_id = serializers.IntegerField(read_only=True)
    issuer = serializers.CharField(read_only=True)
    audience = serializers.CharField(read_only=True, help_text="Empty: this Portus's own audience.")
    rules = serializers.CharField(read_only=True)
    enabled = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    last_used_at = serializers.DateTimeField(read_only=True, allow_null=True)


class TrustPolicyInput(serializers.Serializer):
    issuer = serializers.CharField(max_length=500)
    audience = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    rules = serializers.CharField(max_length=TrustPolicy.MAX_RULES_LENGTH,
                                  help_text='e.g. repository == "acme/app" and ref == "refs/heads/main"')

    class Meta:
        ref_name = "TrustPolicyCreate"


class TrustPolicyUpdate(serializers.Serializer):
    enabled = serializers.BooleanField()


def _robot(request, pk: int) -> User:
    robot = User.objects.filter(pk=pk).first()
    if robot is None or not policy.can_manage_trust_policies(request.user, robot):
        raise NotFound()
    return robot


def _policy(request, pk: int) -> TrustPolicy:
    found = TrustPolicy.objects.select_related("robot").filter(pk=pk).first()
    if found is None or not policy.can_manage_trust_policies(request.user, found.robot):
        raise NotFound()
    return found


class RobotTrustPoliciesView(PortusAPIView):
    @extend_schema(tags=["trust_policies"], summary="List a robot's trust policies (its managers)",
                   parameters=[path_id("id"), *PAGING_PARAMETERS],
                   responses={200: TrustPolicySerializer(many=True), **authed(400, 404)},
                   extensions={PAGINATED: True})
    def get(self, request, id: int):
        robot = _robot(request, id)
        return self.present_page(TrustPolicySerializer, TrustPolicy.objects.filter(robot=robot),
                                 sort_fields=SORT_FIELDS)

    @extend_schema(tags=["trust_policies"], summary="Let a robot log in with ID tokens of an issuer (its managers)",
                   description="No secret is created: a CI job's ID token from `issuer`, for the audience, "
                               "whose claims match `rules`, is the robot's password.",
                   parameters=[path_id("id")], request=TrustPolicyInput,
                   responses={201: TrustPolicySerializer, **with_body(404, 422)})
    def post(self, request, id: int):
        data = self.read(TrustPolicyInput)  # a malformed body is a 400 whoever the robot is
        robot = _robot(request, id)
        created = trust.trust_policy_create(robot=robot, issuer=data["issuer"], audience=data["audience"],
                                            rule_text=data["rules"], by=request.user)
        return self.present(TrustPolicySerializer, created, status_code=201)


class TrustPolicyView(PortusAPIView):
    @extend_schema(tags=["trust_policies"], summary="Switch a trust policy on or off (its managers)",
                   parameters=[path_id("id")], request=TrustPolicyUpdate,
                   responses={200: TrustPolicySerializer, **with_body(404)})
    def put(self, request, id: int):
        data = self.read(TrustPolicyUpdate)
        found = _policy(request, id)
        trust.trust_policy_set_enabled(policy=found, enabled=data["enabled"], by=request.user)
        return self.present(TrustPolicySerializer, found)

    @extend_schema(tags=["trust_policies"], summary="Remove a trust policy (its managers)",
                   parameters=[path_id("id")], responses={204: None, **authed(404)})
    def delete(self, request, id: int):
        trust.trust_policy_delete(policy=_policy(request, id), by=request.user)
        return self.no_content()
