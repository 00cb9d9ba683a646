"""URLs of the browsing pages: namespaces, teams, repositories, tags, search, explore (Portus's paths)."""

from django.urls import path

from web.views import browse_namespaces as ns
from web.views import browse_repositories as repos
from web.views import browse_search as search
from web.views import browse_teams as teams
from web.views import browse_webhooks as hooks

urlpatterns = [
    path("namespaces", ns.namespace_list, name="namespaces"),
    path("namespaces/new", ns.namespace_new, name="namespace-new"),
    path("namespaces/<int:pk>", ns.namespace_detail, name="namespace"),
    path("namespaces/<int:pk>/edit", ns.namespace_edit, name="namespace-edit"),
    path("namespaces/<int:pk>/change_visibility", ns.namespace_change_visibility, name="namespace-visibility"),
    path("namespaces/<int:pk>/delete", ns.namespace_delete_view, name="namespace-delete"),
    path("namespaces/<int:pk>/release", ns.namespace_release_view, name="namespace-release"),
    path("namespaces/<int:pk>/purge", ns.namespace_purge_view, name="namespace-purge"),
    path("namespaces/<int:pk>/webhooks", hooks.webhook_list, name="webhooks"),
    path("namespaces/<int:pk>/webhooks/new", hooks.webhook_new, name="webhook-new"),
    path("namespaces/<int:pk>/webhooks/<int:webhook_pk>", hooks.webhook_detail, name="webhook"),
    path("namespaces/<int:pk>/webhooks/<int:webhook_pk>/edit", hooks.webhook_edit, name="webhook-edit"),
    path("namespaces/<int:pk>/webhooks/<int:webhook_pk>/delete", hooks.webhook_delete, name="webhook-delete"),
    path("namespaces/<int:pk>/webhooks/<int:webhook_pk>/secret", hooks.webhook_secret, name="webhook-secret"),
    path("namespaces/<int:pk>/webhooks/<int:webhook_pk>/ping", hooks.webhook_ping, name="webhook-ping"),
    path("namespaces/<int:pk>/webhooks/<int:webhook_pk>/deliveries/<int:delivery_pk>", hooks.delivery_detail,
         name="webhook-delivery"),
    path("namespaces/<int:pk>/webhooks/<int:webhook_pk>/deliveries/<int:delivery_pk>/redeliver",
         hooks.delivery_redeliver, name="webhook-redeliver"),
    path("teams", teams.team_list, name="teams"),
    path("teams/new", teams.team_new, name="team-new"),
    path("teams/<int:pk>", teams.team_detail, name="team"),
    path("teams/<int:pk>/edit", teams.team_edit, name="team-edit"),
    path("teams/<int:pk>/delete", teams.team_delete_view, name="team-delete"),
    path("teams/<int:pk>/members", teams.member_add, name="team-member-add"),
    path("teams/<int:pk>/members/<int:member_pk>/role", teams.member_change_role, name="team-member-role"),
    path("teams/<int:pk>/members/<int:member_pk>/remove", teams.member_remove, name="team-member-remove"),
    path("teams/<int:pk>/typeahead", teams.member_typeahead, name="team-typeahead"),
    path("repositories", repos.repository_list, name="repositories"),
    path("repositories/<int:pk>", repos.repository_detail, name="repository"),
    path("repositories/<int:pk>/edit", repos.repository_edit, name="repository-edit"),
    path("repositories/<int:pk>/delete", repos.repository_delete_view, name="repository-delete"),
    path("repositories/<int:pk>/toggle_star", repos.repository_toggle_star, name="repository-star"),
    path("repositories/<int:pk>/comments", repos.comment_new, name="repository-comment-new"),
    path("repositories/<int:pk>/comments/<int:comment_pk>/delete", repos.comment_destroy,
         name="repository-comment-delete"),
    path("tags/<int:pk>/delete", repos.tag_delete_view, name="tag-delete"),
    path("search", search.search, name="search"),
    path("explore", search.explore, name="explore"),
]
