"""URLs of the REST API (mounted at /api/): Portus's paths, each also answered with a trailing slash."""

from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from api.errors import not_found_view
from api.views import (
    grants,
    meta,
    namespaces,
    refresh_tokens,
    registries,
    repositories,
    robots,
    tags,
    teams,
    users,
    webhooks,
)
from federation import api as federation_api
from images import api as images_api


class IdConverter:
    """A database id: digits, at most 18 (anything longer cannot be an id, and would overflow a bigint)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(IdConverter, "id")


def route(pattern: str, view, name: str) -> list:
    return [path(pattern, view, name=name), path(pattern + "/", view)]


urlpatterns = [
    path("openapi-spec", SpectacularJSONAPIView.as_view(), name="api-schema"),
    # The split view serves its script from ?script, not inline (the Content-Security-Policy refuses inline).
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    *route("version", meta.VersionView.as_view(), "api-version"),
    *route("v1/_ping", meta.PingView.as_view(), "api-ping"),
    *route("v1/health", meta.HealthView.as_view(), "api-health"),
    # users and application tokens
    *route("v1/users", users.UsersView.as_view(), "api-users"),
    *route("v1/users/bootstrap", users.BootstrapView.as_view(), "api-users-bootstrap"),
    *route("v1/users/application_tokens/<id:id>", users.ApplicationTokenView.as_view(), "api-token"),
    *route("v1/users/<id:id>/application_tokens", users.UserTokensView.as_view(), "api-user-tokens"),
    *route("v1/users/refresh_tokens/<id:id>", refresh_tokens.RefreshTokenView.as_view(), "api-refresh-token"),
    *route("v1/users/<id:id>/refresh_tokens", refresh_tokens.UserRefreshTokensView.as_view(),
           "api-user-refresh-tokens"),
    # robots' trust policies (keyless CI logins, federation/)
    *route("v1/users/<id:id>/trust_policies", federation_api.RobotTrustPoliciesView.as_view(),
           "api-user-trust-policies"),
    *route("v1/trust_policies/<id:id>", federation_api.TrustPolicyView.as_view(), "api-trust-policy"),
    *route("v1/users/<str:id>", users.UserView.as_view(), "api-user"),
    # robots (their tokens: v1/users/<id>/application_tokens)
    *route("v1/robots", robots.RobotsView.as_view(), "api-robots"),
    *route("v1/robots/<id:id>", robots.RobotView.as_view(), "api-robot"),
    # registries
    *route("v1/registries", registries.RegistriesView.as_view(), "api-registries"),
    *route("v1/registries/validate", registries.RegistryValidateView.as_view(), "api-registries-validate"),
    *route("v1/registries/<id:id>", registries.RegistryView.as_view(), "api-registry"),
    *route("v1/registries/<id:id>/storage", images_api.RegistryStorageView.as_view(), "api-registry-storage"),
    *route("v1/registries/<id:id>/notification_secret", registries.RegistryNotificationSecretView.as_view(),
           "api-registry-notification-secret"),
    # teams
    *route("v1/teams", teams.TeamsView.as_view(), "api-teams"),
    *route("v1/teams/<id:id>", teams.TeamView.as_view(), "api-team"),
    *route("v1/teams/<id:id>/ldap_check", teams.TeamLdapCheckView.as_view(), "api-team-ldap-check"),
    *route("v1/teams/<id:id>/namespaces", teams.TeamNamespacesView.as_view(), "api-team-namespaces"),
    *route("v1/teams/<id:id>/members", teams.TeamMembersView.as_view(), "api-team-members"),
    *route("v1/teams/<id:id>/members/<id:member_id>", teams.TeamMemberView.as_view(), "api-team-member"),
    # namespaces
    *route("v1/namespaces", namespaces.NamespacesView.as_view(), "api-namespaces"),
    *route("v1/namespaces/validate", namespaces.NamespaceValidateView.as_view(), "api-namespaces-validate"),
    *route("v1/namespaces/retired", namespaces.RetiredNamespacesView.as_view(), "api-namespaces-retired"),
    *route("v1/namespaces/<id:id>", namespaces.NamespaceView.as_view(), "api-namespace"),
    *route("v1/namespaces/<id:id>/signing_keys", images_api.NamespaceSigningKeysView.as_view(),
           "api-namespace-signing-keys"),
    *route("v1/namespaces/<id:id>/signing_keys/<id:key_id>", images_api.NamespaceSigningKeyView.as_view(),
           "api-namespace-signing-key"),
    *route("v1/namespaces/<id:id>/storage", images_api.NamespaceStorageView.as_view(), "api-namespace-storage"),
    *route("v1/namespaces/<id:id>/repositories", namespaces.NamespaceRepositoriesView.as_view(),
           "api-namespace-repositories"),
    *route("v1/namespaces/<id:id>/grants", grants.NamespaceGrantsView.as_view(), "api-namespace-grants"),
    *route("v1/namespaces/<id:id>/grants/<id:grant_id>", grants.NamespaceGrantView.as_view(),
           "api-namespace-grant"),
    *route("v1/namespaces/<id:id>/release", namespaces.NamespaceReleaseView.as_view(), "api-namespace-release"),
    *route("v1/namespaces/<id:id>/purge", namespaces.NamespacePurgeView.as_view(), "api-namespace-purge"),
    # outbound webhooks
    *route("v1/namespaces/<id:id>/webhooks", webhooks.WebhooksView.as_view(), "api-webhooks"),
    *route("v1/namespaces/<id:id>/webhooks/<id:webhook_id>", webhooks.WebhookView.as_view(), "api-webhook"),
    *route("v1/namespaces/<id:id>/webhooks/<id:webhook_id>/secret", webhooks.WebhookSecretView.as_view(),
           "api-webhook-secret"),
    *route("v1/namespaces/<id:id>/webhooks/<id:webhook_id>/ping", webhooks.WebhookPingView.as_view(),
           "api-webhook-ping"),
    *route("v1/namespaces/<id:id>/webhooks/<id:webhook_id>/deliveries", webhooks.DeliveriesView.as_view(),
           "api-webhook-deliveries"),
    *route("v1/namespaces/<id:id>/webhooks/<id:webhook_id>/deliveries/<id:delivery_id>",
           webhooks.DeliveryView.as_view(), "api-webhook-delivery"),
    *route("v1/namespaces/<id:id>/webhooks/<id:webhook_id>/deliveries/<id:delivery_id>/redeliver",
           webhooks.RedeliverView.as_view(), "api-webhook-redeliver"),
    # repositories
    *route("v1/repositories", repositories.RepositoriesView.as_view(), "api-repositories"),
    *route("v1/repositories/<id:id>", repositories.RepositoryView.as_view(), "api-repository"),
    *route("v1/repositories/<id:id>/storage", images_api.RepositoryStorageView.as_view(), "api-repository-storage"),
    *route("v1/repositories/<id:id>/tags", repositories.RepositoryTagsView.as_view(), "api-repository-tags"),
    *route("v1/repositories/<id:id>/tags/grouped", repositories.RepositoryGroupedTagsView.as_view(),
           "api-repository-tags-grouped"),
    *route("v1/repositories/<id:id>/tags/<id:tag_id>", repositories.RepositoryTagView.as_view(),
           "api-repository-tag"),
    *route("v1/repositories/<id:id>/comments", repositories.RepositoryCommentsView.as_view(),
           "api-repository-comments"),
    *route("v1/repositories/<id:id>/comments/<id:comment_id>", repositories.RepositoryCommentView.as_view(),
           "api-repository-comment"),
    *route("v1/repositories/<id:id>/toggle_star", repositories.RepositoryStarView.as_view(),
           "api-repository-star"),
    # tags and vulnerabilities
    *route("v1/tags", tags.TagsView.as_view(), "api-tags"),
    *route("v1/tags/<id:id>", tags.TagView.as_view(), "api-tag"),
    *route("v1/tags/<id:id>/details", images_api.TagDetailsView.as_view(), "api-tag-details"),
    *route("v1/vulnerabilities", tags.VulnerabilitiesView.as_view(), "api-vulnerabilities"),
    *route("v1/vulnerabilities/<id:id>", tags.VulnerabilityView.as_view(), "api-vulnerability"),
    path("v1/retention/", include("retention.api_urls")),
    # Anything else under /api/: a JSON 404, as Portus answered.
    re_path(r"^.*$", not_found_view),
]
