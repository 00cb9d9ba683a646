"""Admin pages for registries: list, add (with the reachability check), edit."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from registries.models import Registry
from registries.services import registry_create, registry_update
from web.forms import apply_errors
from web.forms_admin import RegistryForm
from web.views import admin_required, paginate


@admin_required
def registries(request):
    return render(request, "admin/registries.html", {"page": paginate(request, Registry.objects.order_by("name"))})


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
    return render(request, "admin/registry_form.html", {"form": form, "registry": registry},
                  status=400 if form.errors else 200)
