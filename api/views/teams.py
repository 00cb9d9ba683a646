"""Teams, their namespaces and members. A team the caller does not belong to is 404 (admins see all)."""

from __future__ import annotations

from django.db.models import F
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError

from accounts.models import User
from api.base import PortusAPIView
from api.errors import FeatureDisabled
from api.schema import PAGINATED, PAGING_PARAMETERS, authed, path_id, sorting, with_body
from api.serializers.namespaces import NAMESPACE_SORT_FIELDS, NamespaceSerializer, namespaces_queryset
from api.serializers.teams import (
    MEMBER_SORT_FIELDS,
    TEAM_SORT_FIELDS,
    MemberCreateInput,
    MemberUpdateInput,
    TeamCreateInput,
    TeamMemberSerializer,
    TeamMemberUserSerializer,
    TeamSerializer,
    TeamUpdateInput,
    teams_queryset,
)
from api.serializers.users import users_queryset
from ldapauth import sync as ldap_sync
from namespaces import policy
from namespaces.models import Namespace
from portus.options import option
from teams import services
from teams.models import Team, TeamMember

TEAM_ID = path_id("id", "Team id.")
MEMBER_ID = path_id("member_id", "The membership's id (member_id in the member list).")


class TeamMixin:
    def team(self, pk: int) -> Team:
        return self.found(teams_queryset(Team.objects.visible_to(self.request.user)), pk=pk)


class TeamsView(TeamMixin, PortusAPIView):
    @extend_schema(tags=["teams"], summary="List the teams the caller belongs to (all of them for admins)",
                   parameters=[*PAGING_PARAMETERS, *sorting(TEAM_SORT_FIELDS)],
                   responses={200: TeamSerializer(many=True), **authed(400)}, extensions={PAGINATED: True})
    def get(self, request):
        return self.present_page(TeamSerializer, teams_queryset(Team.objects.visible_to(request.user)),
                                 sort_fields=TEAM_SORT_FIELDS)

    @extend_schema(tags=["teams"], summary="Create a team", request=TeamCreateInput,
                   responses={201: TeamSerializer, **with_body(403, 422)})
    def post(self, request):
        self.allow(policy.can_create_team(request.user))
        data = self.read(TeamCreateInput)
        owner = request.user
        if data.get("owner_id") is not None:
            self.allow(policy.is_admin(request.user), "Only admins may choose another owner.")
            owner = User.objects.filter(pk=data["owner_id"]).first()
            if owner is None:
                raise ValidationError({"owner_id": ["No user has this id."]})
        team = services.team_create(name=data["name"], owner=owner, description=data["description"], by=request.user)
        return self.present(TeamSerializer, teams_queryset().get(pk=team.pk), status_code=201)


class TeamView(TeamMixin, PortusAPIView):
    @extend_schema(tags=["teams"], summary="Show a team", parameters=[TEAM_ID],
                   responses={200: TeamSerializer, **authed(404)})
    def get(self, request, id: int):
        return self.present(TeamSerializer, self.team(id))

    @extend_schema(tags=["teams"], summary="Rename or describe a team", parameters=[TEAM_ID],
                   request=TeamUpdateInput, responses={200: TeamSerializer, **with_body(403, 404, 422)})
    def put(self, request, id: int):
        team = self.team(id)
        self.allow(policy.can_manage_team(request.user, team))
        data = self.read(TeamUpdateInput)["team"]
        services.team_update(team=team, by=request.user, name=data.get("name"), description=data.get("description"))
        return self.present(TeamSerializer, self.team(id))

    @extend_schema(tags=["teams"], summary="Delete a team; its namespaces move to new_team",
                   parameters=[TEAM_ID, OpenApiParameter("new_team", str, description="The name of the team that "
                                                         "takes over the namespaces (required when there are any).")],
                   responses={204: None, **authed(400, 403, 404, 422)})
    def delete(self, request, id: int):
        team = self.team(id)
        self.allow(policy.can_manage_team(request.user, team))
        new_team = None
        name = request.query_params.get("new_team")
        if name:
            new_team = Team.objects.visible_to(request.user).filter(name=name).first()
            if new_team is None:
                raise ValidationError({"new_team": ["No team of yours has this name."]})
        services.team_delete(team=team, by=request.user, new_team=new_team)
        return self.no_content()


class TeamLdapCheckView(TeamMixin, PortusAPIView):
    @extend_schema(tags=["teams"], summary="Check the team's LDAP group now (LDAP group sync only)",
                   description="The background's directory run starts at its next turn (within about ten "
                               "seconds) instead of waiting for `ldap.group_sync.interval`; the team's "
                               "`ldap_group_checked_at` moves when it has run.",
                   parameters=[TEAM_ID], request=None, responses={200: TeamSerializer, **authed(403, 404, 405)})
    def post(self, request, id: int):
        if not option("ldap.enabled") or not option("ldap.group_sync.enabled"):
            raise FeatureDisabled()
        team = self.team(id)
        self.allow(policy.can_manage_team(request.user, team))
        ldap_sync.run_soon()
        return self.present(TeamSerializer, team)


class TeamNamespacesView(TeamMixin, PortusAPIView):
    @extend_schema(tags=["teams"], summary="List a team's namespaces",
                   parameters=[TEAM_ID, *PAGING_PARAMETERS, *sorting(NAMESPACE_SORT_FIELDS)],
                   responses={200: NamespaceSerializer(many=True), **authed(400, 404)}, extensions={PAGINATED: True})
    def get(self, request, id: int):
        team = self.team(id)
        namespaces = namespaces_queryset(Namespace.objects.visible_to(request.user).filter(team=team), request.user)
        return self.present_page(NamespaceSerializer, namespaces, sort_fields=NAMESPACE_SORT_FIELDS)


class TeamMembersView(TeamMixin, PortusAPIView):
    @extend_schema(tags=["teams"], summary="List a team's members (as users, with member_id and role)",
                   parameters=[TEAM_ID, *PAGING_PARAMETERS, *sorting(MEMBER_SORT_FIELDS)],
                   responses={200: TeamMemberUserSerializer(many=True), **authed(400, 404)},
                   extensions={PAGINATED: True})
    def get(self, request, id: int):
        team = self.team(id)
        members = users_queryset(
            User.objects.filter(memberships__team=team).annotate(member_id=F("memberships__id"),
                                                                 member_role=F("memberships__role"))
        )
        return self.present_page(TeamMemberUserSerializer, members, sort_fields=MEMBER_SORT_FIELDS)

    @extend_schema(tags=["teams"], summary="Add a member", parameters=[TEAM_ID], request=MemberCreateInput,
                   responses={201: TeamMemberSerializer, **with_body(403, 404, 422)})
    def post(self, request, id: int):
        team = self.team(id)
        self.allow(policy.can_manage_team(request.user, team))
        data = self.read(MemberCreateInput)
        user = User.objects.filter(username=data["user"]).first()
        if user is None:
            raise ValidationError({"user": ["No user has this name."]})
        member = services.team_member_add(team=team, user=user, role=data["role"], by=request.user)
        return self.present(TeamMemberSerializer, member, status_code=201)


class TeamMemberView(TeamMixin, PortusAPIView):
    def member(self, team: Team, pk: int) -> TeamMember:
        return self.found(TeamMember.objects.select_related("user", "team").filter(team=team), pk=pk)

    @extend_schema(tags=["teams"], summary="Change a member's role", parameters=[TEAM_ID, MEMBER_ID],
                   request=MemberUpdateInput, responses={200: TeamMemberSerializer, **with_body(403, 404, 422)})
    def put(self, request, id: int, member_id: int):
        team = self.team(id)
        member = self.member(team, member_id)
        self.allow(policy.can_manage_team(request.user, team))
        data = self.read(MemberUpdateInput)
        services.team_member_change_role(member=member, role=data["role"], by=request.user)
        return self.present(TeamMemberSerializer, member)

    @extend_schema(tags=["teams"], summary="Remove a member", parameters=[TEAM_ID, MEMBER_ID],
                   responses={204: None, **authed(403, 404, 422)})
    def delete(self, request, id: int, member_id: int):
        team = self.team(id)
        member = self.member(team, member_id)
        self.allow(policy.can_manage_team(request.user, team))
        services.team_member_remove(member=member, by=request.user)
        return self.no_content()
