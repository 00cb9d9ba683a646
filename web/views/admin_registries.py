"""Admin pages for registries: list, add (with the reachability check), edit, new notification secret, delete."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portus.options import option
from registries.models import Registry
from registries.services import (
    registry_create,
    registry_delete,
    registry_dependents,
    registry_notification_secret_rotate,
    registry_update,
)
from web.forms import apply_errors
from web.forms_admin import RegistryForm
from web.views import admin_required, paginate


@admin_required
def registries(request):
    return render(request, "admin/registries.html", {
        "page": paginate(request, Registry.objects.order_by("name")),
        "legacy_secret": bool(option("secrets.webhook_secret")),
    })


@admin_required
def registry_new(request):
    form = RegistryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            registry = registry_create(
                name=data["name"], hostname=data["hostname"], external_hostname=data["external_hostname"],
                use_ssl=data["use_ssl"], by=request.user, check=not data["save_anyway"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Registry {registry.name} added.")
            return redirect("admin-registries")
    return render(request, "admin/registry_form.html", {"form": form, "registry": None},
                  status=400 if form.errors else 200)


@admin_required
def registry_edit(request, pk: int):
    registry = get_object_or_404(Registry, pk=pk)
    initial = {"name": registry.name, "hostname": registry.hostname,
               "external_hostname": registry.external_hostname, "use_ssl": registry.use_ssl}
    form = RegistryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changed = {field: data[field] for field in initial if data[field] != initial[field]}
        try:
            if changed:
                registry_update(registry=registry, by=request.user, check=not data["save_anyway"], **changed)
        except ValidationError as exc:
            registry.refresh_from_db()
            apply_errors(form, exc)
        else:
            messages.success(request, f"Registry {registry.name} saved." if changed else "Nothing changed.")
            return redirect("admin-registries")
    return render(request, "admin/registry_form.html", {
        "form": form, "registry": registry, "legacy_secret": bool(option("secrets.webhook_secret")),
    }, status=400 if form.errors else 200)


@never_cache
@admin_required
@require_POST
def registry_notification_secret(request, pk: int):
    """A new notification secret for the registry, shown in this response only (never stored, never
    redirected through a session); the previous one stays valid for a day unless revoked here."""
    registry = get_object_or_404(Registry, pk=pk)
    made = registry_notification_secret_rotate(registry=registry, by=request.user,
                                               keep_previous=not request.POST.get("revoke_previous"))
    return render(request, "admin/registry_secret.html", {
        "registry": made.registry, "plain": made.plain, "previous_valid_until": made.previous_valid_until,
        "events_url": request.build_absolute_uri(reverse("registry-events")),
    }, status=201)


@admin_required
@require_http_methods(["GET", "POST"])
def registry_delete_view(request, pk: int):
    """The confirmation page (GET changes nothing, and says what still depends on the registry) and the
    delete (POST), refused while namespaces depend on it."""
    registry = get_object_or_404(Registry, pk=pk)
    if request.method == "POST":
        try:
            registry_delete(registry=registry, by=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("admin-registry-delete", pk=pk)
        messages.success(request, f"Registry {registry.name} deleted. Its storage was not touched.")
        return redirect("admin-registries")
    count, names = registry_dependents(registry)
    return render(request, "admin/registry_delete.html", {
        "registry": registry, "dependents_count": count, "dependents": names,
        "more": count - len(names),
    })
