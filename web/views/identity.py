"""Robot and grant pages: a namespace's robots and grants (for its managers), the admin's robots, one
robot's page with its tokens."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import ApplicationToken, User
from accounts.robots import robot_create, robot_delete, robot_set_enabled, robot_short_name
from accounts.services import application_token_create, application_token_revoke
from federation.models import TrustPolicy
from grants.models import RepositoryGrant
from grants.services import grant_change, grant_create, grant_delete
from namespaces import policy
from namespaces.models import Namespace
from teams.models import Team
from teams.services import team_member_add
from web.forms import ApplicationTokenForm, apply_errors
from web.forms_identity import GrantChangeForm, GrantForm, RobotForm
from web.views import admin_required, paginate, ui_login_required
from web.views.account import render_token_created
from web.views.browse_common import visible_or_404


def _robots():
    return User.objects.filter(bot=True, username__startswith="robot$").select_related(
        "robot_namespace", "robot_namespace__team", "created_by").order_by("username")


def _managed_namespace(request, pk: int, check) -> Namespace:
    namespace = visible_or_404(Namespace.objects.visible_to(request.user).select_related("registry", "team"), pk=pk)
    if not check(request.user, namespace):
        raise PermissionDenied("Only the namespace's managers may open this page.")
    return namespace


def _create_robot(request, form: RobotForm, namespace=None):
    """The robot, or None with the form's errors set."""
    try:
        with transaction.atomic():
            robot = robot_create(name=form.cleaned_data["name"], by=request.user, namespace=namespace,
                                 description=form.cleaned_data.get("description", ""))
            role = form.cleaned_data.get("role")
            if role and namespace is not None:
                team_member_add(team=namespace.team, user=robot, role=role, by=request.user)
    except ValidationError as exc:
        apply_errors(form, exc)
        return None
    messages.success(request, f"Robot {robot.username} created. Give it a token to log in with.")
    return robot


@ui_login_required
@require_http_methods(["GET", "POST"])
def namespace_robots(request, pk: int):
    namespace = _managed_namespace(request, pk, policy.can_create_robot)
    with_role = not namespace.team.hidden
    form = RobotForm(request.POST or None, with_role=with_role)
    if request.method == "POST" and form.is_valid():
        robot = _create_robot(request, form, namespace)
        if robot is not None:
            return redirect("robot", pk=robot.pk)
    robots = paginate(request, _robots().filter(robot_namespace=namespace))
    return render(request, "identity/namespace_robots.html", {"namespace": namespace, "form": form, "robots": robots},
                  status=400 if form.errors else 200)


@admin_required
@require_http_methods(["GET", "POST"])
def admin_robots(request):
    form = RobotForm(request.POST or None, with_role=False)
    if request.method == "POST" and form.is_valid():
        robot = _create_robot(request, form)
        if robot is not None:
            return redirect("robot", pk=robot.pk)
    robots = paginate(request, _robots())
    return render(request, "identity/admin_robots.html", {"form": form, "robots": robots},
                  status=400 if form.errors else 200)


def _managed_robot(request, pk: int) -> User:
    robot = _robots().filter(pk=pk).first()
    # Someone else's robot: its existence is not the caller's business.
    if robot is None or not policy.can_manage_robot(request.user, robot):
        raise Http404("Not found, or not yours to manage.")
    return robot


def _robot_page(request, robot: User, *, token_form=None, status: int = 200):
    tokens = paginate(request, ApplicationToken.objects.filter(user=robot).select_related("created_by")
                      .order_by("application"), param="tokens_page")
    grants = RepositoryGrant.objects.filter(user=robot).select_related("namespace")[:100]
    return render(request, "identity/robot.html", {
        "robot": robot, "short_name": robot_short_name(robot), "active": policy.is_active(robot),
        "tokens": tokens, "grants": grants, "token_form": token_form or ApplicationTokenForm(),
        "memberships": robot.memberships.select_related("team")[:20], "now": timezone.now(),
        "keyless_policies": TrustPolicy.objects.filter(robot=robot, enabled=True).count(),
    }, status=status)


@ui_login_required
def robot_detail(request, pk: int):
    return _robot_page(request, _managed_robot(request, pk))


@never_cache
@ui_login_required
@require_POST
def robot_token_create(request, pk: int):
    robot = _managed_robot(request, pk)
    form = ApplicationTokenForm(request.POST)
    if form.is_valid():
        try:
            token, plain = application_token_create(user=robot, application=form.cleaned_data["application"],
                                                    by=request.user, **form.scopes())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return render_token_created(request, token=token, plain=plain, back_url=reverse("robot", args=[robot.pk]))
    return _robot_page(request, robot, token_form=form, status=400)


@ui_login_required
@require_POST
def robot_token_revoke(request, pk: int, token_pk: int):
    robot = _managed_robot(request, pk)
    token = get_object_or_404(ApplicationToken, pk=token_pk, user=robot)
    token.user = robot
    application_token_revoke(token=token, by=request.user)
    messages.success(request, f"The token “{token.application}” is revoked.")
    return redirect("robot", pk=robot.pk)


@ui_login_required
@require_POST
def robot_enabled(request, pk: int):
    robot = _managed_robot(request, pk)
    enabled = request.POST.get("enabled") == "1"
    robot_set_enabled(robot=robot, enabled=enabled, by=request.user)
    messages.success(request, f"Robot {robot.username} {'enabled' if enabled else 'disabled'}.")
    return redirect("robot", pk=robot.pk)


@ui_login_required
@require_POST
def robot_remove(request, pk: int):
    robot = _managed_robot(request, pk)
    namespace_id = robot.robot_namespace_id
    robot_delete(robot=robot, by=request.user)
    messages.success(request, f"Robot {robot.username} deleted; its tokens no longer work.")
    return redirect("namespace-robots", pk=namespace_id) if namespace_id else redirect("admin-robots")


# --- grants ---------------------------------------------------------------------------------------


def _grantee(form: GrantForm):
    """(user, team) named by the form, or a ValidationError."""
    name = form.cleaned_data["grantee"].strip()
    if form.cleaned_data["grantee_kind"] == "team":
        team = Team.objects.filter(name=name, hidden=False).first()
        if team is None:
            raise ValidationError({"grantee": "No team has this name."})
        return None, team
    user = User.objects.select_related("robot_namespace").filter(username=name).first()
    if user is None:
        raise ValidationError({"grantee": "No user or robot has this name."})
    return user, None


@ui_login_required
@require_http_methods(["GET", "POST"])
def namespace_grants(request, pk: int):
    namespace = _managed_namespace(request, pk, policy.can_manage_grants)
    form = GrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, team = _grantee(form)
            grant = grant_create(namespace=namespace, pattern=form.cleaned_data["pattern"],
                                 permission=form.cleaned_data["permission"], by=request.user, user=user, team=team)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Granted {grant.permission} on {grant.pattern} to {grant.grantee_name}.")
            return redirect("namespace-grants", pk=namespace.pk)
    grants = paginate(request, RepositoryGrant.objects.filter(namespace=namespace)
                      .select_related("user", "team", "created_by").order_by("pattern", "pk"))
    return render(request, "identity/namespace_grants.html", {
        "namespace": namespace, "form": form, "grants": grants, "change_form": GrantChangeForm(),
    }, status=400 if form.errors else 200)


def _managed_grant(request, pk: int, grant_pk: int) -> RepositoryGrant:
    namespace = _managed_namespace(request, pk, policy.can_manage_grants)
    grant = get_object_or_404(RepositoryGrant.objects.select_related("user", "team"), pk=grant_pk,
                              namespace=namespace)
    grant.namespace = namespace
    return grant


@ui_login_required
@require_POST
def namespace_grant_change(request, pk: int, grant_pk: int):
    grant = _managed_grant(request, pk, grant_pk)
    form = GrantChangeForm(request.POST)
    if form.is_valid():
        grant_change(grant=grant, permission=form.cleaned_data["permission"], by=request.user)
        messages.success(request, f"{grant.grantee_name} now has {grant.permission} on {grant.pattern}.")
    else:
        messages.error(request, "Choose pull, push or admin.")
    return redirect("namespace-grants", pk=pk)


@ui_login_required
@require_POST
def namespace_grant_delete(request, pk: int, grant_pk: int):
    grant = _managed_grant(request, pk, grant_pk)
    grant_delete(grant=grant, by=request.user)
    messages.success(request, f"The grant on {grant.pattern} to {grant.grantee_name} is gone.")
    return redirect("namespace-grants", pk=pk)
