"""URLs of the retention API, mounted at /api/v1/retention/ (each also answered with a trailing slash)."""

from django.urls import path

from retention import api


def route(pattern: str, view, name: str) -> list:
    return [path(pattern, view, name=name), path(pattern + "/", view)]


urlpatterns = [
    *route("rules", api.RulesView.as_view(), "api-retention-rules"),
    *route("rules/instance", api.InstanceRuleView.as_view(), "api-retention-rule-instance"),
    *route("rules/namespaces/<id:id>", api.NamespaceRuleView.as_view(), "api-retention-rule-namespace"),
    *route("rules/repositories/<id:id>", api.RepositoryRuleView.as_view(), "api-retention-rule-repository"),
    *route("runs", api.RunsView.as_view(), "api-retention-runs"),
    *route("runs/<id:id>", api.RunView.as_view(), "api-retention-run"),
    *route("runs/<id:id>/items", api.RunItemsView.as_view(), "api-retention-run-items"),
    *route("runs/<id:id>/report", api.RunReportView.as_view(), "api-retention-run-report"),
    *route("runs/<id:id>/pause", api.RunPauseView.as_view(), "api-retention-run-pause"),
    *route("runs/<id:id>/resume", api.RunResumeView.as_view(), "api-retention-run-resume"),
    *route("runs/<id:id>/cancel", api.RunCancelView.as_view(), "api-retention-run-cancel"),
]
