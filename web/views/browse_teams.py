"""Team pages: the list, one team with its members and namespaces, create, edit, members, delete."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from namespaces import policy
from namespaces.models import Namespace
from teams.models import Role, Team, TeamMember
from teams.services import (
    team_create,
    team_delete,
    team_member_add,
    team_member_change_role,
    team_member_remove,
    team_update,
)
from web.forms_browse import MemberAddForm, MemberRoleForm, TeamDeleteForm, TeamForm
from web.views import ui_login_required
from web.views.browse_common import flash_errors, form_errors_from, paginate, visible_or_404
from web.views.browse_namespaces import count_repositories, creatable_teams

TYPEAHEAD_LIMIT = 10


def _count_members_and_namespaces(teams: list[Team]) -> None:
    """Sets `members_total` and `namespaces_total` on each team of a page (two grouped queries)."""
    ids = [team.pk for team in teams]
    members = dict(TeamMember.objects.filter(team_id__in=ids).order_by().values("team_id")
                   .annotate(n=Count("id")).values_list("team_id", "n"))
    namespaces = dict(Namespace.objects.filter(team_id__in=ids).order_by().values("team_id")
                      .annotate(n=Count("id")).values_list("team_id", "n"))
    for team in teams:
        team.members_total = members.get(team.pk, 0)
        team.namespaces_total = namespaces.get(team.pk, 0)


@ui_login_required
def team_list(request):
    page = paginate(request, Team.objects.visible_to(request.user).order_by("name"))
    teams = list(page.object_list)
    _count_members_and_namespaces(teams)
    for team in teams:
        team.my_role = policy.team_role(request.user, team.pk)
    return render(request, "teams/index.html", {
        "page": page,
        "can_create": policy.can_create_team(request.user),
    })


def _team(request, pk: int, *, manage: bool = False) -> Team:
    """The team if the user sees it (else 404); with `manage`, only if they may manage it (else 403)."""
    team = visible_or_404(Team.objects.visible_to(request.user), pk=pk)
    if manage and not policy.can_manage_team(request.user, team):
        raise PermissionDenied("Only the team's owners manage it.")
    return team


@ui_login_required
def team_detail(request, pk: int):
    team = _team(request, pk)
    members = paginate(request, team.members.select_related("user").order_by("user__username"),
                       param="members_page", per_page=25)
    namespaces = paginate(request, team.namespaces.select_related("registry").order_by("name"),
                          param="namespaces_page")
    count_repositories(namespaces.object_list, request.user)
    can_manage = policy.can_manage_team(request.user, team)
    return render(request, "teams/show.html", {
        "team": team,
        "members": members,
        "namespaces": namespaces,
        "role": policy.team_role(request.user, team.pk),
        "can_manage": can_manage,
        "can_create_namespace": policy.can_create_namespace(request.user, team),
        "add_form": MemberAddForm() if can_manage else None,
        "roles": Role.choices,
    })


@ui_login_required
@require_http_methods(["GET", "POST"])
def team_new(request):
    if not policy.can_create_team(request.user):
        raise PermissionDenied("You may not create teams.")
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_create(name=form.cleaned_data["name"], description=form.cleaned_data["description"],
                               owner=request.user, by=request.user)
        except ValidationError as error:
            form_errors_from(form, error)
        else:
            messages.success(request, f"Team {team.name} created; you own it.")
            return redirect("team", pk=team.pk)
    return render(request, "teams/new.html", {"form": form})


@ui_login_required
@require_http_methods(["GET", "POST"])
def team_edit(request, pk: int):
    team = _team(request, pk, manage=True)
    form = TeamForm(request.POST or None, initial={"name": team.name, "description": team.description})
    if request.method == "POST" and form.is_valid():
        try:
            team_update(team=team, by=request.user, name=form.cleaned_data["name"],
                        description=form.cleaned_data["description"])
        except ValidationError as error:
            form_errors_from(form, error)
        else:
            messages.success(request, f"Team {team.name} saved.")
            return redirect("team", pk=team.pk)
    return render(request, "teams/edit.html", {"team": team, "form": form})


@ui_login_required
@require_POST
def member_add(request, pk: int):
    team = _team(request, pk, manage=True)
    form = MemberAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name a user and a role.")
        return redirect("team", pk=team.pk)
    # User names are lowercase: "Oscar" typed on a phone that capitalises is oscar.
    user = User.objects.filter(username__iexact=form.cleaned_data["username"].strip()).first()
    if user is None:
        messages.error(request, f"There is no user {form.cleaned_data['username']}.")
        return redirect("team", pk=team.pk)
    try:
        team_member_add(team=team, user=user, role=form.cleaned_data["role"], by=request.user)
    except ValidationError as error:
        flash_errors(request, error)
    else:
        messages.success(request, f"{user.username} joined {team.name} as {form.cleaned_data['role']}.")
    return redirect("team", pk=team.pk)


@ui_login_required
@require_POST
def member_change_role(request, pk: int, member_pk: int):
    team = _team(request, pk, manage=True)
    member = get_object_or_404(team.members.select_related("user"), pk=member_pk)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose owner, contributor or viewer.")
        return redirect("team", pk=team.pk)
    try:
        team_member_change_role(member=member, role=form.cleaned_data["role"], by=request.user)
    except ValidationError as error:
        flash_errors(request, error)
    else:
        messages.success(request, f"{member.user.username} is now {member.get_role_display().lower()}.")
    return _back_to_team(request, team)


@ui_login_required
@require_POST
def member_remove(request, pk: int, member_pk: int):
    team = _team(request, pk, manage=True)
    member = get_object_or_404(team.members.select_related("user"), pk=member_pk)
    try:
        team_member_remove(member=member, by=request.user)
    except ValidationError as error:
        flash_errors(request, error)
    else:
        messages.success(request, f"{member.user.username} left {team.name}.")
    return _back_to_team(request, team)


def _back_to_team(request, team: Team):
    """To the team's page, unless the change took it out of the user's sight."""
    if Team.objects.visible_to(request.user).filter(pk=team.pk).exists():
        return redirect("team", pk=team.pk)
    return redirect("teams")


@ui_login_required
@require_http_methods(["GET", "POST"])
def team_delete_view(request, pk: int):
    team = _team(request, pk, manage=True)
    namespaces_count = team.namespaces.count()
    targets = creatable_teams(request.user).exclude(pk=team.pk)
    # An empty POST is a valid answer here (no namespaces to move): bind on the method, not on the body.
    form = TeamDeleteForm(request.POST if request.method == "POST" else None, teams=targets,
                          needs_new_team=namespaces_count > 0)
    if request.method == "POST" and form.is_valid():
        try:
            team_delete(team=team, by=request.user, new_team=form.cleaned_data.get("new_team"))
        except ValidationError as error:
            form_errors_from(form, error)
        else:
            messages.success(request, f"Team {team.name} deleted.")
            return redirect("teams")
    return render(request, "teams/delete.html", {
        "team": team, "form": form, "namespaces_count": namespaces_count, "has_targets": targets.exists(),
    })


@ui_login_required
@require_GET
def member_typeahead(request, pk: int):
    """Users not in the team yet whose name starts with ?q=, or whose display name contains it, in any
    case, for the add-member field. Emails are neither matched nor shown (a team owner is no admin)."""
    team = _team(request, pk, manage=True)
    query = request.GET.get("q", "").strip()[:64]
    if not query:
        return JsonResponse({"usernames": [], "users": []})
    users = list(
        User.objects.filter(Q(username__istartswith=query) | Q(display_name__icontains=query), enabled=True)
        .exclude(username=User.INTERNAL_USERNAME)
        .exclude(pk__in=team.members.values("user_id"))
        .order_by("username").values_list("username", "display_name")[:TYPEAHEAD_LIMIT]
    )
    return JsonResponse({"usernames": [name for name, _ in users],
                         "users": [{"username": name, "display_name": shown} for name, shown in users]})
