"""Pages: a tag's image (what is inside it, what sits beside it), a namespace's trusted keys, and the
admins' Storage page. None of them calls the registry."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from images import storage
from images.details import image_view
from images.forms import SigningKeyForm
from images.models import SigningKey
from images.services import signing_key_add, signing_key_remove
from namespaces import policy
from namespaces.models import Namespace, Repository, Tag
from portus import charts
from registries.models import Registry
from web.forms import apply_errors
from web.views import admin_required, ui_login_required
from web.views.browse_common import browsable, visible_or_404

MAX_PLATFORM_PARAM = 160


@browsable
def tag_detail(request, pk: int):
    tag = get_object_or_404(Tag.objects.select_related("author"), pk=pk)
    repository = visible_or_404(Repository.objects.visible_to(request.user).with_namespace(), pk=tag.repository_id)
    tag.repository = repository
    platform = request.GET.get("platform", "")[:MAX_PLATFORM_PARAM]
    view = image_view(tag, platform_digest=platform)
    return render(request, "images/tag.html", {
        "tag": tag, "repository": repository, "namespace": repository.namespace, "image": view,
        "platform": platform if view.digest == platform else "",
        "pull_command": f"docker pull {repository.pull_reference}@{view.digest}",
        "can_delete": policy.can_delete(request.user, repository.namespace),
        "can_manage_keys": policy.can_manage_signing_keys(request.user, repository.namespace),
    })


def _namespace(request, pk: int) -> Namespace:
    return visible_or_404(Namespace.objects.visible_to(request.user).select_related("registry", "team"), pk=pk)


@ui_login_required
@require_http_methods(["GET", "POST"])
def signing_keys(request, pk: int):
    namespace = _namespace(request, pk)
    can_manage = policy.can_manage_signing_keys(request.user, namespace)
    form = SigningKeyForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only those who manage the namespace manage its trusted keys.")
        if form.is_valid():
            try:
                key = signing_key_add(namespace=namespace, name=form.cleaned_data["name"],
                                      pem=form.cleaned_data["pem"], by=request.user)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, f"Signatures made with “{key.name}” are verified from now on.")
                return redirect("namespace-signing-keys", pk=namespace.pk)
    return render(request, "images/signing_keys.html", {
        "namespace": namespace, "keys": SigningKey.objects.filter(namespace=namespace).select_related("created_by"),
        "form": form if can_manage else None, "can_manage": can_manage,
    })


@ui_login_required
@require_POST
def signing_key_delete(request, pk: int, key_pk: int):
    namespace = _namespace(request, pk)
    key = get_object_or_404(SigningKey.objects.select_related("namespace"), namespace=namespace, pk=key_pk)
    signing_key_remove(key=key, by=request.user)
    messages.success(request, f"“{key.name}” is no longer trusted here.")
    return redirect("namespace-signing-keys", pk=namespace.pk)


@admin_required
def storage_page(request):
    registries = []
    today = timezone.localdate()
    for registry in Registry.objects.order_by("name"):
        usage = storage.registry_storage(registry)
        names = dict(Namespace.objects.filter(pk__in=list(usage.namespaces)).values_list("pk", "name"))
        globals_ = set(Namespace.objects.filter(pk__in=list(usage.namespaces), is_global=True)
                       .values_list("pk", flat=True))
        rows = sorted(((names.get(ns, "?") if ns not in globals_ else f"{registry.reference_host} (global)", ns, u)
                       for ns, u in usage.namespaces.items()), key=lambda r: (-r[2].bytes, r[0]))
        snapshots = storage.history(registry)
        registries.append({
            "registry": registry, "usage": usage, "rows": rows[:50], "more": max(0, len(rows) - 50),
            "bars": charts.bars([(name, u.bytes, u.shared_bytes) for name, _, u in rows[:10]]),
            # The days before from their snapshots; today as it is now (its snapshot was taken at its start).
            "line": charts.line([(s.day.isoformat(), s.bytes) for s in snapshots if s.day != today]
                                + [(today.isoformat(), usage.total.bytes)]),
            "snapshots": snapshots[-14:],
        })
    return render(request, "admin/storage.html", {"registries": registries})
