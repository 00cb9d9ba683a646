"""REST API of tag retention (`/api/v1/retention/...`): rules, runs, their progress and reports.

Admins manage the instance rule and every run; owners of a namespace's team manage its rule, its
repositories' rules and its runs (namespaces.policy.can_manage_retention). A namespace or repository the
caller cannot see is 404; one they see but may not manage is 403.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError

from api.base import PortusAPIView
from api.errors import Unprocessable
from api.schema import PAGINATED, PAGING_PARAMETERS, authed, path_id, with_body
from namespaces import policy
from namespaces.models import Namespace, Repository
from retention import patterns, rules, runs
from retention.models import MAX_DAYS, Item, Rule, Run

RUN_ID = path_id("id", "Retention run id.")
NAMESPACE_ID = path_id("id", "Namespace id.")
REPOSITORY_ID = path_id("id", "Repository id.")
MAX_KEEP_LATEST = 10_000


class PatternListField(serializers.ListField):
    child = serializers.CharField(max_length=patterns.MAX_PATTERN_LENGTH, allow_blank=False, trim_whitespace=True)

    def __init__(self, **kwargs):
        super().__init__(max_length=patterns.MAX_PATTERNS, required=False, **kwargs)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        try:
            return patterns.validate_list(values)
        except patterns.PatternError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class RuleInput(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    older_than_days = serializers.IntegerField(min_value=0, max_value=MAX_DAYS, required=False, allow_null=True,
                                               help_text="Tags pushed at least this many days ago may go (null: "
                                                         "no age condition).")
    not_pulled_days = serializers.IntegerField(min_value=0, max_value=MAX_DAYS, required=False, allow_null=True,
                                               help_text="…and not pulled for this many days (null: no condition).")
    keep_latest = serializers.IntegerField(min_value=0, max_value=MAX_KEEP_LATEST, required=False,
                                           help_text="The newest N included tags of each repository always stay.")
    include = PatternListField(help_text="Globs of the tags the rule considers ([]: every tag).")
    protect = PatternListField(help_text="Globs of tags never deleted.")


class RuleSerializer(serializers.ModelSerializer):
    namespace_id = serializers.IntegerField(allow_null=True, read_only=True)
    repository_id = serializers.IntegerField(allow_null=True, read_only=True)
    include = serializers.ListField(child=serializers.CharField())
    protect = serializers.ListField(child=serializers.CharField())
    label = serializers.CharField(read_only=True)

    class Meta:
        model = Rule
        fields = ["id", "scope", "label", "namespace_id", "repository_id", "enabled", "older_than_days",
                  "not_pulled_days", "keep_latest", "include", "protect", "updated_at"]


class RunInput(serializers.Serializer):
    dry_run = serializers.BooleanField(default=True, help_text="Plan only (the default); false deletes.")
    namespace_id = serializers.IntegerField(min_value=1, max_value=10**18 - 1, required=False, allow_null=True,
                                            help_text="Only this namespace (owners must give one of theirs).")


class RunSerializer(serializers.ModelSerializer):
    namespace_id = serializers.IntegerField(allow_null=True, read_only=True)
    namespace = serializers.CharField(source="namespace_name", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = ["id", "dry_run", "status", "trigger", "namespace_id", "namespace", "created_at", "planned_at",
                  "started_at", "finished_at", "pause_requested", "done", "total", "progress", "deleted_count",
                  "deleted_tags", "kept_count", "error_count", "repositories", "error", "errors"]

    def get_progress(self, run: Run) -> str:
        return f"{run.done} of {run.total}"


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["position", "action", "status", "repository", "digest", "tags", "media_type", "reason", "note",
                  "handled_at"]


class ReportSerializer(serializers.Serializer):
    run = RunSerializer()
    text = serializers.CharField()


def _refuse(exc: DjangoValidationError):
    if hasattr(exc, "message_dict"):
        raise ValidationError(exc.message_dict)
    raise ValidationError({"rule": exc.messages})


class RulesView(PortusAPIView):
    @extend_schema(tags=["retention"], summary="List the retention rules the caller manages",
                   responses={200: RuleSerializer(many=True), **authed(400)}, parameters=PAGING_PARAMETERS,
                   extensions={PAGINATED: True})
    def get(self, request):
        user = request.user
        if policy.is_admin(user):
            rules.instance_rule()
        visible = (Rule.objects.filter(repository__namespace__in=Namespace.objects.filter(
                       policy.retention_namespaces_q(user)))
                   | Rule.objects.filter(namespace__in=Namespace.objects.filter(policy.retention_namespaces_q(user))))
        if policy.is_admin(user):
            visible = visible | Rule.objects.filter(scope=Rule.Scope.INSTANCE)
        queryset = visible.select_related("namespace", "namespace__registry", "repository",
                                          "repository__namespace").order_by("scope", "id")
        return self.present_page(RuleSerializer, queryset, sort_fields=None)


class _RuleMixin:
    """Each view below sets `scope` and defines `target(pk)`: the (namespace, repository) its rule
    belongs to."""

    scope = ""

    def current(self, namespace, repository) -> Rule | None:
        if self.scope == Rule.Scope.INSTANCE:
            return rules.instance_rule()
        if self.scope == Rule.Scope.NAMESPACE:
            return rules.rule_for_namespace(namespace)
        return rules.rule_for_repository(repository)

    def _get(self, request, pk=None):
        namespace, repository = self.target(pk)
        self.allow(policy.can_manage_retention(request.user, namespace))
        rule = self.current(namespace, repository)
        if rule is None:
            raise NotFound("No rule of its own: the rule above it applies.")
        return self.present(RuleSerializer, rule)

    def _put(self, request, pk=None):
        namespace, repository = self.target(pk)
        self.allow(policy.can_manage_retention(request.user, namespace))
        values = self.read(RuleInput)
        current = self.current(namespace, repository)
        if current is None and "enabled" not in values:
            values["enabled"] = True  # a new namespace or repository rule is meant to apply
        try:
            rule = rules.rule_save(scope=self.scope, namespace=namespace, repository=repository, values=values,
                                   by=request.user)
        except DjangoValidationError as exc:
            _refuse(exc)
        return self.present(RuleSerializer, rule)

    def _delete(self, request, pk):
        namespace, repository = self.target(pk)
        self.allow(policy.can_manage_retention(request.user, namespace))
        rule = self.current(namespace, repository)
        if rule is None:
            raise NotFound("No rule of its own: the rule above it applies.")
        rules.rule_delete(rule=rule, by=request.user)
        return self.no_content()


class InstanceRuleView(_RuleMixin, PortusAPIView):
    scope = Rule.Scope.INSTANCE

    def target(self, pk):
        return None, None

    @extend_schema(tags=["retention"], summary="Show the instance rule (admins)",
                   responses={200: RuleSerializer, **authed(403)})
    def get(self, request):
        return self._get(request)

    @extend_schema(tags=["retention"], summary="Change the instance rule (admins)", request=RuleInput,
                   responses={200: RuleSerializer, **with_body(403)})
    def put(self, request):
        return self._put(request)


class NamespaceRuleView(_RuleMixin, PortusAPIView):
    scope = Rule.Scope.NAMESPACE

    def target(self, pk):
        return self.found(Namespace.objects.visible_to(self.request.user), pk=pk), None

    @extend_schema(tags=["retention"], summary="Show a namespace's rule (404 when it has none)",
                   parameters=[NAMESPACE_ID], responses={200: RuleSerializer, **authed(403, 404)})
    def get(self, request, id: int):
        return self._get(request, id)

    @extend_schema(tags=["retention"], summary="Set a namespace's rule", parameters=[NAMESPACE_ID],
                   request=RuleInput, responses={200: RuleSerializer, **with_body(403, 404)})
    def put(self, request, id: int):
        return self._put(request, id)

    @extend_schema(tags=["retention"], summary="Remove a namespace's rule (the instance rule applies again)",
                   parameters=[NAMESPACE_ID], responses={204: None, **authed(403, 404)})
    def delete(self, request, id: int):
        return self._delete(request, id)


class RepositoryRuleView(_RuleMixin, PortusAPIView):
    scope = Rule.Scope.REPOSITORY

    def target(self, pk):
        repository = self.found(Repository.objects.visible_to(self.request.user).with_namespace(), pk=pk)
        return repository.namespace, repository

    @extend_schema(tags=["retention"], summary="Show a repository's rule (404 when it has none)",
                   parameters=[REPOSITORY_ID], responses={200: RuleSerializer, **authed(403, 404)})
    def get(self, request, id: int):
        return self._get(request, id)

    @extend_schema(tags=["retention"], summary="Set a repository's rule", parameters=[REPOSITORY_ID],
                   request=RuleInput, responses={200: RuleSerializer, **with_body(403, 404)})
    def put(self, request, id: int):
        return self._put(request, id)

    @extend_schema(tags=["retention"], summary="Remove a repository's rule", parameters=[REPOSITORY_ID],
                   responses={204: None, **authed(403, 404)})
    def delete(self, request, id: int):
        return self._delete(request, id)


def runs_visible_to(user):
    """The runs a user may see: every run for admins; their namespaces' runs for owners."""
    if policy.is_admin(user):
        return Run.objects.all()
    return Run.objects.filter(namespace__in=Namespace.objects.filter(policy.retention_namespaces_q(user)))


class RunsView(PortusAPIView):
    @extend_schema(tags=["retention"], summary="List retention runs, newest first",
                   parameters=PAGING_PARAMETERS, responses={200: RunSerializer(many=True), **authed(400)},
                   extensions={PAGINATED: True})
    def get(self, request):
        return self.present_page(RunSerializer, runs_visible_to(request.user).order_by("-id"), sort_fields=None)

    @extend_schema(tags=["retention"], summary="Queue a retention run (dry run unless dry_run is false)",
                   description="The background process plans it, and for a real run deletes exactly the plan. "
                               "422 when deleting is turned off (delete.enabled) for a real run.",
                   request=RunInput, responses={201: RunSerializer, **with_body(403, 404, 422)})
    def post(self, request):
        data = self.read(RunInput)
        namespace = None
        if data.get("namespace_id"):
            namespace = self.found(Namespace.objects.visible_to(request.user), pk=data["namespace_id"])
        self.allow(policy.can_manage_retention(request.user, namespace))
        try:
            run = runs.run_create(dry_run=data["dry_run"], namespace=namespace, by=request.user)
        except runs.RetentionRefused as exc:
            raise Unprocessable(str(exc)) from exc
        return self.present(RunSerializer, run, status_code=201)


class _RunMixin:
    def run(self, pk: int) -> Run:
        return self.found(runs_visible_to(self.request.user), pk=pk)


class RunView(_RunMixin, PortusAPIView):
    @extend_schema(tags=["retention"], summary="Show a run and its progress", parameters=[RUN_ID],
                   responses={200: RunSerializer, **authed(404)})
    def get(self, request, id: int):
        return self.present(RunSerializer, self.run(id))


class RunItemsView(_RunMixin, PortusAPIView):
    @extend_schema(tags=["retention"], summary="A run's report lines: images to delete, tags kept and why",
                   parameters=[RUN_ID, *PAGING_PARAMETERS,
                               OpenApiParameter("action", str, enum=["delete", "keep"],
                                                description="Only deletions or only kept tags.")],
                   responses={200: ItemSerializer(many=True), **authed(400, 404)}, extensions={PAGINATED: True})
    def get(self, request, id: int):
        run = self.run(id)
        items = Item.objects.filter(run=run).order_by("position")
        action = request.query_params.get("action")
        if action is not None:
            if action not in Item.Action.values:
                raise ValidationError({"action": ["Give delete or keep."]})
            items = items.filter(action=action)
        return self.present_page(ItemSerializer, items, sort_fields=None)


class RunReportView(_RunMixin, PortusAPIView):
    @extend_schema(tags=["retention"], summary="A run's report as text (the first 50 kept tags listed)",
                   parameters=[RUN_ID], responses={200: ReportSerializer, **authed(404)})
    def get(self, request, id: int):
        run = self.run(id)
        return self.present(ReportSerializer, {"run": run, "text": runs.report_text(run)})


class _RunActionView(_RunMixin, PortusAPIView):
    action_name = ""

    def post(self, request, id: int):
        run = self.run(id)
        self.allow(policy.can_manage_retention(request.user, run.namespace))
        try:
            run = getattr(runs, f"run_{self.action_name}")(run=run, by=request.user)
        except runs.RetentionRefused as exc:
            raise Unprocessable(str(exc)) from exc
        return self.present(RunSerializer, run)


def _action_view(name: str, summary: str) -> type:
    def post(self, request, id: int):  # a function of its own per view, so each gets its own schema
        return _RunActionView.post(self, request, id)

    documented = extend_schema(tags=["retention"], summary=summary, parameters=[RUN_ID], request=None,
                               operation_id=f"retention_run_{name}",
                               responses={200: RunSerializer, **authed(403, 404, 422)})(post)
    return type(f"Run{name.title()}View", (_RunActionView,), {"action_name": name, "post": documented})


RunPauseView = _action_view("pause", "Pause a run (a running one after the image in hand)")
RunResumeView = _action_view("resume", "Resume a paused run")
RunCancelView = _action_view("cancel", "Cancel a queued or paused run")
