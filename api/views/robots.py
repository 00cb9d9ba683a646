"""Robot accounts (accounts/robots.py): listed, created, disabled and deleted by admins, and by the
managers of the owning namespace. Their tokens are `/api/v1/users/{id}/application_tokens`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound

from accounts.robots import robot_create, robot_delete, robot_set_enabled
from api.base import PortusAPIView
from api.schema import PAGINATED, PAGING_PARAMETERS, authed, path_id, sorting, with_body
from api.serializers.identity import RobotCreateInput, RobotSerializer, RobotUpdateInput, robots_queryset
from namespaces import policy
from namespaces.models import Namespace

ROBOT_SORT_FIELDS = {"id": "pk", "username": "username", "created_at": "date_joined"}
ROBOT_ID = path_id("id", "The robot's user id.")


def managed_robots(user):
    """The robots the caller may manage: all for admins; those of namespaces they manage otherwise."""
    robots = robots_queryset()
    if policy.is_admin(user):
        return robots
    ids = [namespace.pk for namespace in Namespace.objects.visible_to(user).filter(robots__isnull=False)
           .select_related("team").distinct() if policy.can_manage_namespace(user, namespace)]
    return robots.filter(robot_namespace_id__in=ids)


class RobotsView(PortusAPIView):
    @extend_schema(tags=["robots"], summary="List the robots the caller manages",
                   parameters=[*PAGING_PARAMETERS, *sorting(ROBOT_SORT_FIELDS)],
                   responses={200: RobotSerializer(many=True), **authed(400)}, extensions={PAGINATED: True})
    def get(self, request):
        return self.present_page(RobotSerializer, managed_robots(request.user), sort_fields=ROBOT_SORT_FIELDS)

    @extend_schema(tags=["robots"], summary="Create a robot (of a namespace, or of the instance for admins)",
                   description="It has no password: create it a token with POST /api/v1/users/{id}/"
                               "application_tokens, and give it a role (team member) or grants.",
                   request=RobotCreateInput, responses={201: RobotSerializer, **with_body(403, 404, 422)})
    def post(self, request):
        data = self.read(RobotCreateInput)
        namespace = None
        if data.get("namespace_id"):
            namespace = self.found(Namespace.objects.visible_to(request.user).select_related("team"),
                                   pk=data["namespace_id"])
        self.allow(policy.can_create_robot(request.user, namespace))
        robot = robot_create(name=data["name"], by=request.user, namespace=namespace,
                             description=data["description"])
        return self.present(RobotSerializer, robots_queryset().get(pk=robot.pk), status_code=201)


class RobotView(PortusAPIView):
    def robot(self, pk: int):
        robot = robots_queryset().filter(pk=pk).first()
        if robot is None or not policy.can_manage_robot(self.request.user, robot):
            raise NotFound()
        return robot

    @extend_schema(tags=["robots"], summary="Show a robot", parameters=[ROBOT_ID],
                   responses={200: RobotSerializer, **authed(404)})
    def get(self, request, id: int):
        return self.present(RobotSerializer, self.robot(id))

    @extend_schema(tags=["robots"], summary="Enable or disable a robot", parameters=[ROBOT_ID],
                   request=RobotUpdateInput, responses={200: RobotSerializer, **with_body(404, 422)})
    def put(self, request, id: int):
        robot = self.robot(id)
        data = self.read(RobotUpdateInput)
        robot_set_enabled(robot=robot, enabled=data["enabled"], by=request.user)
        return self.present(RobotSerializer, robots_queryset().get(pk=robot.pk))

    @extend_schema(tags=["robots"], summary="Delete a robot and its tokens", parameters=[ROBOT_ID],
                   responses={204: None, **authed(404)})
    def delete(self, request, id: int):
        robot_delete(robot=self.robot(id), by=request.user)
        return self.no_content()
