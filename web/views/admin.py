"""Admin pages: the status page (registries, background process, event inbox) and user management."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import services as accounts
from accounts.models import ApplicationToken, User
from hooks.status import webhook_status
from namespaces import policy
from namespaces.models import Repository
from portus.options import option
from registries.models import Registry
from registries.services import registry_check
from teams.models import TeamMember
from web import status as status_data
from web.forms import ApplicationTokenForm, apply_errors
from web.forms_admin import AdminUserCreateForm, AdminUserEditForm, UserSearchForm
from web.views import admin_required, paginate
from web.views.account import render_token_created

ADMIN_PER_PAGE = 50
RETRY_BATCH = 1000


def _back(request, default: str):
    """Where a form asked to go after the action (a local URL only), or `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return redirect(target)
    return redirect(default)


# --- status -------------------------------------------------------------------------------------


def _webhooks():
    """The webhook inbox's services, when that part of the project is installed (imported lazily)."""
    try:
        from mirror import services
        from mirror.models import Event
    except ImportError:
        return None, None
    return services, Event


def _inbox_status(request, services, Event) -> dict:
    status: dict = {"available": False, "background": None, "counts": {}, "attention": None}
    if services is None or not hasattr(services, "background_status"):
        return status
    try:
        with transaction.atomic():
            background = services.background_status()
            attention = (Event.objects.filter(status__in=(Event.Status.FAILED, Event.Status.FLAGGED))
                         .select_related("registry").order_by("-id"))
            status.update(available=True, background=background, counts=background.counts,
                          attention=paginate(request, attention, param="events_page"))
    except DatabaseError:
        # The inbox's tables are not there (yet): show the rest of the page.
        status.update(available=False, background=None, counts={}, attention=None)
    return status


@never_cache
@admin_required
def status(request):
    services, Event = _webhooks()
    registries = paginate(request, Registry.objects.order_by("name"), param="registries_page")
    inbox = _inbox_status(request, services, Event)
    last_events = status_data.last_events(registries) if inbox["available"] else {}
    for registry in registries:
        registry.reachability = registry_check(hostname=registry.hostname, use_ssl=registry.use_ssl)
        registry.last_event_at = last_events.get(registry.pk)
        registry.notification_hint = status_data.notification_hint(registry, registry.last_event_at)
    return render(request, "admin/status.html", {
        "registries": registries,
        "inbox": inbox,
        "flow": status_data.event_flow() if inbox["available"] else None,
        "can_retry": services is not None and hasattr(services, "event_retry"),
        "retention_runs": _retention_runs(),
        "hooks": webhook_status(),
        "counts": {
            "users": User.objects.filter(bot=False).exclude(username=User.INTERNAL_USERNAME).count(),
            "repositories": Repository.objects.count(),
        },
    })


def _retention_runs() -> list:
    """The last tag retention runs, for the status page (one query)."""
    from retention.models import Run

    return list(Run.objects.select_related("created_by").order_by("-id")[:5])


@admin_required
@require_POST
def events_retry(request):
    services, Event = _webhooks()
    if services is None or not hasattr(services, "event_retry"):
        messages.error(request, "Retrying events is not available.")
        return redirect("admin-status")
    attention = (Event.Status.FAILED, Event.Status.FLAGGED)
    if request.POST.get("event", "").isdigit():
        events = list(Event.objects.filter(pk=int(request.POST["event"]), status__in=attention))
    elif request.POST.get("status") in attention:
        events = list(Event.objects.filter(status=request.POST["status"]).order_by("id")[:RETRY_BATCH])
    else:
        messages.error(request, "Choose the events to retry.")
        return redirect("admin-status")
    for event in events:
        services.event_retry(event=event, by=request.user)
    messages.success(request, f"{len(events)} event{'s' if len(events) != 1 else ''} queued again.")
    return redirect("admin-status")


# --- users --------------------------------------------------------------------------------------


@admin_required
def users(request):
    form = UserSearchForm(request.GET or None)
    queryset = User.objects.order_by("username")
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        if q:
            queryset = queryset.filter(Q(username__icontains=q) | Q(email__icontains=q)
                                       | Q(display_name__icontains=q))
        kind = form.cleaned_data["kind"]
        if kind == "admins":
            queryset = queryset.filter(admin=True)
        elif kind == "bots":
            queryset = queryset.filter(bot=True)
        elif kind == "disabled":
            queryset = queryset.filter(enabled=False)
        elif kind == "locked":
            queryset = queryset.filter(locked_until__gt=timezone.now())
    return render(request, "admin/users.html", {
        "form": form, "page": paginate(request, queryset, per_page=ADMIN_PER_PAGE), "now": timezone.now(),
    })


@admin_required
def user_new(request):
    form = AdminUserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = accounts.user_create(
                username=data["username"], email=data["email"] or None, password=data["password"] or None,
                admin=data["admin"], bot=data["bot"], display_name=data["display_name"], by=request.user,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{'Bot' if user.bot else 'User'} {user.username} created.")
            return redirect("admin-user", pk=user.pk)
    return render(request, "admin/user_new.html", {"form": form}, status=400 if form.errors else 200)


def _user_page(request, user: User, *, edit_form=None, token_form=None, status=200):
    tokens = ApplicationToken.objects.filter(user=user).select_related("created_by").order_by("application")
    memberships = TeamMember.objects.filter(user=user, team__hidden=False).select_related("team").order_by("team__name")
    return render(request, "admin/user_detail.html", {
        "subject": user,
        "edit_form": edit_form or AdminUserEditForm(initial={"email": user.email, "display_name": user.display_name}),
        "token_form": token_form or ApplicationTokenForm(),
        "tokens": paginate(request, tokens, param="tokens_page"),
        "memberships": paginate(request, memberships, param="teams_page"),
        "can_manage_tokens": policy.can_manage_tokens_of(request.user, user),
        "now": timezone.now(),
    }, status=status)


@admin_required
def user_detail(request, pk: int):
    return _user_page(request, get_object_or_404(User, pk=pk))


@admin_required
@require_POST
def user_edit(request, pk: int):
    user = get_object_or_404(User, pk=pk)
    form = AdminUserEditForm(request.POST)
    if form.is_valid():
        try:
            accounts.user_update(user=user, by=request.user, email=form.cleaned_data["email"],
                                 display_name=form.cleaned_data["display_name"])
        except ValidationError as exc:
            user.refresh_from_db()
            apply_errors(form, exc)
        else:
            messages.success(request, f"{user.username} saved.")
            return redirect("admin-user", pk=user.pk)
    return _user_page(request, user, edit_form=form, status=400)


def _flag_action(request, pk: int, field: str, done: dict[bool, str]):
    user = get_object_or_404(User, pk=pk)
    value = request.POST.get("value")
    if value not in ("0", "1"):
        messages.error(request, "Say which way to change it.")
        return _back(request, reverse("admin-users"))
    try:
        accounts.user_update(user=user, by=request.user, **{field: value == "1"})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done[value == "1"].format(user=user.username))
    return _back(request, reverse("admin-users"))


@admin_required
@require_POST
def user_enabled(request, pk: int):
    return _flag_action(request, pk, "enabled", {True: "{user} is enabled.", False: "{user} is disabled."})


@admin_required
@require_POST
def user_admin(request, pk: int):
    return _flag_action(request, pk, "admin", {True: "{user} is now an admin.", False: "{user} is no longer an admin."})


@admin_required
@require_POST
def user_unlock(request, pk: int):
    user = get_object_or_404(User, pk=pk)
    accounts.user_unlock(user=user, by=request.user)
    messages.success(request, f"{user.username} is unlocked.")
    return _back(request, reverse("admin-users"))


_DELETE_OUTCOMES = {
    "deleted": "its personal namespace in {registry} held no image and is gone",
    "retired": "its personal namespace in {registry} keeps its images, for admins only, in a retired namespace: "
               "the name {user} stays reserved until you release or purge it",
    "purged": "its images in {registry} are purged and the name is free",
}


@admin_required
def user_delete(request, pk: int):
    """GET asks for confirmation and what to do with the images (and changes nothing); POST deletes.

    The images of the personal namespace are kept in a retired namespace unless the admin chose to purge them
    (accounts.services.user_delete, namespaces/retirement.py)."""
    user = get_object_or_404(User, pk=pk)
    if request.method == "POST":
        images = request.POST.get("images", "keep")
        if images not in ("keep", "purge"):
            messages.error(request, "Choose whether to keep or purge the images.")
            return redirect("admin-user-delete", pk=user.pk)
        username = user.username
        try:
            outcomes = accounts.user_delete(user=user, by=request.user, purge_images=images == "purge")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("admin-user", pk=user.pk)
        said = [_DELETE_OUTCOMES[outcome].format(registry=registry, user=username) if outcome in _DELETE_OUTCOMES
                else f"its personal namespace in {registry} is {outcome}" for registry, outcome in outcomes]
        messages.success(request, f"{username} is deleted" + (": " + "; ".join(said) if said else "") + ".")
        return redirect("admin-users")
    repositories = Repository.objects.filter(namespace__team__personal_of=user).count()
    return render(request, "admin/user_delete.html", {
        "subject": user, "repositories": repositories, "can_purge": bool(option("delete.enabled")),
    })


@never_cache
@admin_required
@require_POST
def user_token_create(request, pk: int):
    user = get_object_or_404(User, pk=pk)
    if not policy.can_manage_tokens_of(request.user, user):
        raise Http404
    form = ApplicationTokenForm(request.POST)
    if form.is_valid():
        try:
            token, plain = accounts.application_token_create(
                user=user, application=form.cleaned_data["application"], by=request.user, **form.scopes(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return render_token_created(request, token=token, plain=plain,
                                        back_url=reverse("admin-user", args=[user.pk]))
    return _user_page(request, user, token_form=form, status=400)


@admin_required
@require_POST
def user_token_revoke(request, pk: int, token_pk: int):
    token = get_object_or_404(ApplicationToken.objects.select_related("user"), pk=token_pk, user_id=pk)
    if not policy.can_manage_tokens_of(request.user, token.user):
        raise Http404
    accounts.application_token_revoke(token=token, by=request.user)
    messages.success(request, f"The token for {token.application} is revoked.")
    return redirect("admin-user", pk=pk)
