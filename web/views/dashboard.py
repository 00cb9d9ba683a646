"""The dashboard: recent activity, starred repositories, the user's namespaces and teams, first push."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect, render

from activities.models import Activity
from namespaces import policy
from namespaces.models import Namespace, Repository
from portus.options import option
from registries.models import Registry
from teams.models import Team
from web.views import keyset_paginate, paginate, ui_login_required

FIRST_PUSH_IMAGE = "busybox"


def _first_push(user, registry: Registry | None) -> dict | None:
    """The docker commands that push a first image into the user's personal namespace here."""
    if registry is None:
        return None
    namespace = (Namespace.objects.select_related("team").filter(registry=registry, team__personal_of=user).first())
    if namespace is None or not policy.can_push(user, namespace):
        return {"registry": registry, "namespace": namespace, "allowed": False}
    target = f"{registry.reference_host}/{namespace.name}/{FIRST_PUSH_IMAGE}:latest"
    return {
        "registry": registry,
        "namespace": namespace,
        "allowed": True,
        "commands": [
            f"docker login {registry.reference_host}",
            f"docker pull {FIRST_PUSH_IMAGE}:latest",
            f"docker tag {FIRST_PUSH_IMAGE}:latest {target}",
            f"docker push {target}",
        ],
        "pushed_before": Repository.objects.filter(namespace__team__members__user=user).exists(),
    }


def dashboard(request):
    if not request.user.is_authenticated:
        from web.views.account import instance_is_empty

        if option("signup.enabled") and instance_is_empty():
            # The first visitor of a new instance is its future admin.
            return redirect("sign_up")
        return redirect("/explore" if option("anonymous_browsing.enabled") else settings.LOGIN_URL)
    return _dashboard(request)


@ui_login_required
def _dashboard(request):
    user = request.user
    activities = keyset_paginate(
        request,
        Activity.objects.visible_to(user)
        .select_related("owner", "namespace", "namespace__registry", "team"),
    )
    starred = paginate(
        request,
        Repository.objects.visible_to(user).with_namespace().filter(stars__user=user).order_by("-stars__created_at"),
        param="starred_page",
    )
    namespaces = paginate(
        request,
        Namespace.objects.visible_to(user).filter(team__members__user=user)
        .select_related("registry", "team").order_by("name"),
        param="namespaces_page",
    )
    teams = paginate(request, Team.objects.visible_to(user).filter(members__user=user).order_by("name"),
                     param="teams_page")
    registry = Registry.default()
    return render(request, "dashboard/index.html", {
        "activities": activities,
        "starred": starred,
        "namespaces": namespaces,
        "teams": teams,
        "first_push": _first_push(user, registry),
        "registry": registry,
    })
