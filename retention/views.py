"""Retention pages: the instance rule and every run (admins), a namespace's or repository's rule and runs
(its team's owners), a run's report with its progress, pause, resume and cancel. Every door asks
namespaces.policy.can_manage_retention; an invisible namespace or repository is 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from namespaces import policy
from namespaces.models import Namespace, Repository
from portus.options import option
from retention import rules, runs
from retention.api import runs_visible_to
from retention.forms import RuleForm
from retention.models import Item, Rule, Run
from web.views import paginate, ui_login_required

REPORT_PAGE = 100


def _initial(rule: Rule | None, fallback: Rule) -> dict:
    source = rule or fallback
    values = {name: getattr(source, name) for name in rules.RULE_FIELDS}
    if rule is None:
        values["enabled"] = True
    return values


def _rule_page(request, *, scope: str, namespace: Namespace | None, repository: Repository | None):
    if not policy.can_manage_retention(request.user, namespace):
        raise PermissionDenied("You cannot manage tag retention here.")
    resolver = rules.Resolver()
    current = {Rule.Scope.INSTANCE: resolver.instance,
               Rule.Scope.NAMESPACE: namespace and resolver.by_namespace.get(namespace.pk),
               Rule.Scope.REPOSITORY: repository and resolver.by_repository.get(repository.pk)}[scope] or None
    inherited = resolver.instance if scope != Rule.Scope.REPOSITORY else (
        resolver.by_namespace.get(namespace.pk) or resolver.instance)
    form = RuleForm(request.POST or None, initial=_initial(current, inherited))
    if request.method == "POST" and form.is_valid():
        try:
            rules.rule_save(scope=scope, namespace=namespace, repository=repository, values=form.cleaned_data,
                            by=request.user)
        except DjangoValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Retention rule saved.")
            return redirect(request.path)
    run_list = runs_visible_to(request.user)
    run_list = run_list.filter(namespace=namespace) if namespace is not None else run_list
    return render(request, "retention/rule.html", {
        "scope": scope, "namespace": namespace, "repository": repository, "form": form, "rule": current,
        "inherited": None if scope == Rule.Scope.INSTANCE else inherited,
        "runs": paginate(request, run_list.select_related("created_by").order_by("-id"), per_page=10),
        "delete_enabled": option("delete.enabled"),
    })


@ui_login_required
def index(request):
    """The instance rule and every run for admins; for others, their namespaces with rules."""
    if policy.is_admin(request.user):
        return _rule_page(request, scope=Rule.Scope.INSTANCE, namespace=None, repository=None)
    namespaces = Namespace.objects.filter(policy.retention_namespaces_q(request.user)).order_by("name")
    return render(request, "retention/index.html", {
        "namespaces": paginate(request, namespaces, per_page=20),
        "runs": paginate(request, runs_visible_to(request.user).select_related("created_by").order_by("-id"),
                         per_page=10, param="runs_page"),
    })


@ui_login_required
def namespace_rule(request, pk: int):
    namespace = get_object_or_404(Namespace.objects.visible_to(request.user).select_related("registry"), pk=pk)
    return _rule_page(request, scope=Rule.Scope.NAMESPACE, namespace=namespace, repository=None)


@ui_login_required
def repository_rule(request, pk: int):
    repository = get_object_or_404(Repository.objects.visible_to(request.user).with_namespace(), pk=pk)
    return _rule_page(request, scope=Rule.Scope.REPOSITORY, namespace=repository.namespace, repository=repository)


@ui_login_required
@require_POST
def rule_delete(request, pk: int):
    rule = get_object_or_404(Rule.objects.select_related("namespace", "repository__namespace"), pk=pk)
    namespace = rule.namespace or (rule.repository.namespace if rule.repository else None)
    if namespace is not None and not Namespace.objects.visible_to(request.user).filter(pk=namespace.pk).exists():
        raise Http404
    if rule.scope == Rule.Scope.INSTANCE or not policy.can_manage_retention(request.user, namespace):
        raise PermissionDenied("You cannot remove this rule.")
    back = (redirect("retention-repository", rule.repository.pk) if rule.repository
            else redirect("retention-namespace", namespace.pk))
    rules.rule_delete(rule=rule, by=request.user)
    messages.success(request, "Rule removed: the rule above it applies again.")
    return back


@ui_login_required
@require_POST
def run_start(request):
    namespace = None
    raw = request.POST.get("namespace", "")
    if raw:
        if not raw.isdigit() or len(raw) > 18:
            raise Http404
        namespace = get_object_or_404(Namespace.objects.visible_to(request.user), pk=int(raw))
    if not policy.can_manage_retention(request.user, namespace):
        raise PermissionDenied("You cannot run tag retention here.")
    try:
        run = runs.run_create(dry_run=request.POST.get("dry_run") != "false", namespace=namespace, by=request.user)
    except runs.RetentionRefused as exc:
        messages.error(request, str(exc))
        return redirect("retention-namespace", namespace.pk) if namespace else redirect("retention")
    messages.success(request, f"{'Dry run' if run.dry_run else 'Run'} #{run.pk} queued: the background process "
                              "takes it within seconds.")
    return redirect("retention-run", run.pk)


def _visible_run(request, pk: int) -> Run:
    return get_object_or_404(runs_visible_to(request.user).select_related("namespace", "created_by"), pk=pk)


@ui_login_required
def run_show(request, pk: int):
    run = _visible_run(request, pk)
    action = request.GET.get("show", "delete")
    action = action if action in Item.Action.values else Item.Action.DELETE
    items = Item.objects.filter(run=run, action=action).order_by("position")
    return render(request, "retention/run.html", {
        "run": run, "show": action, "items": paginate(request, items, per_page=REPORT_PAGE),
        "can_manage": policy.can_manage_retention(request.user, run.namespace),
    })


@ui_login_required
@require_POST
def run_action(request, pk: int, action: str):
    run = _visible_run(request, pk)
    if action not in ("pause", "resume", "cancel"):
        raise Http404
    if not policy.can_manage_retention(request.user, run.namespace):
        raise PermissionDenied("You cannot steer this run.")
    try:
        getattr(runs, f"run_{action}")(run=run, by=request.user)
    except runs.RetentionRefused as exc:
        messages.error(request, str(exc))
    return redirect("retention-run", run.pk)
