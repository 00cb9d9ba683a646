"""Namespace pages: the list, one namespace with its repositories, create, edit, visibility, delete; and for
admins, releasing and purging retired namespaces (namespaces/retirement.py)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from namespaces import policy, retirement
from namespaces.models import Namespace, Repository, Visibility
from namespaces.services import namespace_create, namespace_delete, namespace_rename_refusal, namespace_update
from teams.models import Team, TeamMember
from web.forms_browse import NamespaceCreateForm, NamespaceEditForm, VisibilityForm
from web.views import ui_login_required
from web.views.browse_common import browsable, flash_errors, form_errors_from, paginate, visible_or_404


def _namespaces():
    return Namespace.objects.select_related("registry", "team", "team__personal_of")


def count_repositories(namespaces, user=None) -> None:
    """Sets `repositories_total` on each namespace of a page, from one grouped query: the repositories
    `user` sees (a grantee counts the granted ones only)."""
    namespaces = list(namespaces)
    ids = {namespace.pk for namespace in namespaces}
    repositories = Repository.objects.all() if user is None else Repository.objects.visible_to(user)
    counts = dict(
        repositories.filter(namespace_id__in=ids).order_by().values("namespace_id")
        .annotate(n=Count("id")).values_list("namespace_id", "n")
    ) if ids else {}
    for namespace in namespaces:
        namespace.repositories_total = counts.get(namespace.pk, 0)


def creatable_teams(user):
    """The teams the user may create namespaces in (the policy decides, team by team)."""
    ids = [team.pk for team in Team.objects.visible_to(user).only("id", "hidden", "name")
           if policy.can_create_namespace(user, team)]
    return Team.objects.filter(pk__in=ids).order_by("name")


def may_create_any_namespace(user) -> bool:
    teams = Team.objects.visible_to(user).only("id", "hidden").order_by()
    return any(policy.can_create_namespace(user, team) for team in teams.iterator(chunk_size=100))


@ui_login_required
def namespace_list(request):
    """Portus's /namespaces: the personal namespace, those of the user's teams, then the others they may see."""
    user = request.user
    my_teams = TeamMember.objects.filter(user_id=user.pk).values("team_id")
    personal = list(_namespaces().filter(team__personal_of=user, name=user.username))
    # Namespaces the user's pushes created (admins push to new names): in no team until moved to one.
    pushed_page = paginate(request, _namespaces().filter(team__personal_of=user, retired_at__isnull=True)
                           .exclude(name=user.username), param="pushed_page")
    teams_page = paginate(request, _namespaces().filter(team_id__in=my_teams, team__hidden=False), param="page")
    others_page = paginate(request, _namespaces().visible_to(user).exclude(team_id__in=my_teams)
                           .filter(retired_at__isnull=True), param="others_page")
    retired_page = None
    if policy.is_admin(user):
        retired_page = paginate(request, _namespaces().filter(retired_at__isnull=False).order_by("-retired_at"),
                                param="retired_page")
    count_repositories([*personal, *pushed_page.object_list, *teams_page.object_list, *others_page.object_list,
                        *(retired_page.object_list if retired_page else [])], user)
    return render(request, "namespaces/index.html", {
        "personal": personal,
        "pushed_page": pushed_page,
        "teams_page": teams_page,
        "others_page": others_page,
        "retired_page": retired_page,
        "can_create": may_create_any_namespace(user),
    })


@browsable
def namespace_detail(request, pk: int):
    namespace = visible_or_404(_namespaces().visible_to(request.user), pk=pk)
    # A grantee without a role here sees the repositories granted to them, and nothing else.
    visible = (namespace.repositories.all() if policy.can_pull(request.user, namespace)
               else Repository.objects.visible_to(request.user).filter(namespace=namespace))
    repositories = paginate(request, visible.order_by("name"), param="page")
    permissions = policy.namespace_permissions(request.user, namespace)
    return render(request, "namespaces/show.html", {
        "namespace": namespace,
        "permissions": permissions,
        "repositories": repositories,
        "can_view_team": policy.can_view_team(request.user, namespace.team) and not namespace.team.hidden,
        "visibility_choices": Visibility.choices,
        "push_example": f"docker push {namespace.registry.reference_host}/"
                        f"{'' if namespace.is_global else namespace.name + '/'}<image>:<tag>",
    })


@ui_login_required
@require_http_methods(["GET", "POST"])
def namespace_new(request):
    teams = creatable_teams(request.user)
    if not teams.exists():
        raise PermissionDenied("You may not create namespaces in any team.")
    initial = {"team": request.GET.get("team")} if request.GET.get("team", "").isdigit() else {}
    form = NamespaceCreateForm(request.POST or None, teams=teams, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            namespace = namespace_create(name=form.cleaned_data["name"], team=form.cleaned_data["team"],
                                         description=form.cleaned_data["description"], by=request.user)
        except ValidationError as error:
            form_errors_from(form, error)
        else:
            messages.success(request, f"Namespace {namespace.name} created.")
            return redirect("namespace", pk=namespace.pk)
    return render(request, "namespaces/new.html", {"form": form})


def _managed_namespace(request, pk: int, check) -> Namespace:
    """The namespace if the user sees it (else 404) and `check` allows (else 403)."""
    namespace = visible_or_404(_namespaces().visible_to(request.user), pk=pk)
    if not check(request.user, namespace):
        raise PermissionDenied("Your role in this namespace's team does not allow this.")
    return namespace


def movable_teams(user, namespace):
    """The teams the user may move the namespace to (the policy decides, team by team), and its own team
    unless that is hidden (a namespace an admin's push created is in no team yet)."""
    ids = [team.pk for team in Team.objects.visible_to(user).only("id", "hidden", "name")
           if policy.can_move_namespace(user, namespace, team)]
    if not namespace.team.hidden:
        ids.append(namespace.team_id)
    return Team.objects.filter(pk__in=ids).order_by("name")


@ui_login_required
@require_http_methods(["GET", "POST"])
def namespace_edit(request, pk: int):
    namespace = _managed_namespace(request, pk, policy.can_manage_namespace)
    fixed_owner = namespace.is_global or namespace.is_personal
    teams = None if fixed_owner else movable_teams(request.user, namespace)
    refusal = (namespace_rename_refusal(namespace) if policy.can_rename_namespace(request.user, namespace)
               else "Personal and global namespaces cannot be renamed.")
    form = NamespaceEditForm(
        request.POST or None, teams=teams, rename_refusal=refusal, team_optional=namespace.awaits_team,
        initial={"name": namespace.name, "team": None if namespace.team.hidden else namespace.team_id,
                 "description": namespace.description},
    )
    if request.method == "POST" and form.is_valid():
        team = form.cleaned_data.get("team")
        if team is not None and team.pk != namespace.team_id and not policy.can_move_namespace(
                request.user, namespace, team):
            raise PermissionDenied("You may not move this namespace to that team.")
        try:
            namespace_update(namespace=namespace, by=request.user,
                             name=None if refusal else form.cleaned_data.get("name"),
                             description=form.cleaned_data["description"], team=team)
        except ValidationError as error:
            form_errors_from(form, error)
        else:
            messages.success(request, f"Namespace {namespace} saved.")
            return redirect("namespace", pk=namespace.pk)
    return render(request, "namespaces/edit.html", {"namespace": namespace, "form": form, "fixed_owner": fixed_owner})


@ui_login_required
@require_POST
def namespace_change_visibility(request, pk: int):
    namespace = _managed_namespace(request, pk, policy.can_change_visibility)
    form = VisibilityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose private, protected or public.")
    else:
        try:
            namespace_update(namespace=namespace, by=request.user, visibility=form.cleaned_data["visibility"])
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, f"Namespace {namespace} is now {namespace.get_visibility_display().lower()}.")
    return redirect("namespace", pk=namespace.pk)


@ui_login_required
@require_http_methods(["GET", "POST"])
def namespace_delete_view(request, pk: int):
    namespace = _managed_namespace(request, pk, policy.can_destroy_namespace)
    if request.method == "POST":
        name = str(namespace)
        try:
            retired = namespace_delete(namespace=namespace, by=request.user)
        except ValidationError as error:
            flash_errors(request, error)
            return redirect("namespace", pk=namespace.pk)
        messages.success(request, f"Namespace {name} deleted." + (
            " The registry may still hold its images: the name stays reserved until an admin releases it."
            if retired else ""))
        return redirect("namespaces")
    return render(request, "namespaces/delete.html", {
        "namespace": namespace,
        "repositories_count": namespace.repositories.count(),
    })


def _retired_action(request, pk: int, *, check, act, template: str):
    """The confirmation page (GET changes nothing) and the action (POST) on a retired namespace, for admins."""
    namespace = _managed_namespace(request, pk, check)
    if request.method == "POST":
        name = namespace.name
        try:
            done = act(namespace=namespace, by=request.user)
        except ValidationError as error:
            flash_errors(request, error)
            return redirect("namespace", pk=namespace.pk)
        if done is not None and not done.released:
            messages.warning(request, f"{done.deleted} manifests of {name} deleted from the registry; "
                                      f"{done.remaining} left: purge again.")
            return redirect("namespace", pk=namespace.pk)
        messages.success(request, f"The name {name} is free again." if done is None else
                         f"{done.deleted} manifests of {name} deleted from the registry; the name is free again.")
        return redirect("namespaces")
    return render(request, template, {
        "namespace": namespace,
        "repositories_count": namespace.repositories.count(),
        "batch": retirement.MAX_PURGE_MANIFESTS,
    })


@ui_login_required
@require_http_methods(["GET", "POST"])
def namespace_release_view(request, pk: int):
    return _retired_action(request, pk, check=policy.can_release_namespace, act=retirement.namespace_release,
                           template="namespaces/release.html")


@ui_login_required
@require_http_methods(["GET", "POST"])
def namespace_purge_view(request, pk: int):
    return _retired_action(request, pk, check=policy.can_purge_namespace, act=retirement.namespace_purge,
                           template="namespaces/purge.html")
