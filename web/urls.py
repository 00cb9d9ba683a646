"""URLs of the web UI. Account, dashboard and admin pages here; browsing pages in urls_browse."""

from django.urls import include, path

from web.views import account, activities, admin, admin_activities, admin_registries, admin_teams, dashboard, identity

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    # Getting in and out (Portus's URLs).
    path("users/sign_in", account.sign_in, name="sign_in"),
    path("users/sign_out", account.sign_out, name="sign_out"),
    path("users/sign_up", account.sign_up, name="sign_up"),
    path("users/password/new", account.password_reset, name="password_reset"),
    path("users/password/sent", account.password_reset_done, name="password_reset_done"),
    path("users/password/edit/<uidb64>/<token>", account.password_reset_confirm, name="password_reset_confirm"),
    path("users/password/done", account.password_reset_complete, name="password_reset_complete"),
    # The profile.
    path("users/edit", account.profile, name="profile"),
    path("users/password", account.password_change, name="password_change"),
    path("users/application_tokens", account.token_create, name="token_create"),
    path("users/application_tokens/<int:pk>/revoke", account.token_revoke, name="token_revoke"),
    path("users/clients/<int:pk>/revoke", account.client_revoke, name="client_revoke"),
    # Administration.
    path("admin", admin.status, name="admin-status"),
    path("admin/events/retry", admin.events_retry, name="admin-events-retry"),
    path("admin/users", admin.users, name="admin-users"),
    path("admin/users/new", admin.user_new, name="admin-user-new"),
    path("admin/users/<int:pk>", admin.user_detail, name="admin-user"),
    path("admin/users/<int:pk>/edit", admin.user_edit, name="admin-user-edit"),
    path("admin/users/<int:pk>/enabled", admin.user_enabled, name="admin-user-enabled"),
    path("admin/users/<int:pk>/admin", admin.user_admin, name="admin-user-admin"),
    path("admin/users/<int:pk>/unlock", admin.user_unlock, name="admin-user-unlock"),
    path("admin/users/<int:pk>/delete", admin.user_delete, name="admin-user-delete"),
    path("admin/users/<int:pk>/application_tokens", admin.user_token_create, name="admin-user-token-create"),
    path("admin/users/<int:pk>/application_tokens/<int:token_pk>/revoke", admin.user_token_revoke,
         name="admin-user-token-revoke"),
    path("admin/robots", identity.admin_robots, name="admin-robots"),
    path("admin/teams", admin_teams.teams, name="admin-teams"),
    # Robots and per-repository grants.
    path("robots/<int:pk>", identity.robot_detail, name="robot"),
    path("robots/<int:pk>/application_tokens", identity.robot_token_create, name="robot-token-create"),
    path("robots/<int:pk>/application_tokens/<int:token_pk>/revoke", identity.robot_token_revoke,
         name="robot-token-revoke"),
    path("robots/<int:pk>/enabled", identity.robot_enabled, name="robot-enabled"),
    path("robots/<int:pk>/delete", identity.robot_remove, name="robot-delete"),
    path("namespaces/<int:pk>/robots", identity.namespace_robots, name="namespace-robots"),
    path("namespaces/<int:pk>/grants", identity.namespace_grants, name="namespace-grants"),
    path("namespaces/<int:pk>/grants/<int:grant_pk>/change", identity.namespace_grant_change,
         name="namespace-grant-change"),
    path("namespaces/<int:pk>/grants/<int:grant_pk>/delete", identity.namespace_grant_delete,
         name="namespace-grant-delete"),
    path("admin/registries", admin_registries.registries, name="admin-registries"),
    path("admin/registries/new", admin_registries.registry_new, name="admin-registry-new"),
    path("admin/registries/<int:pk>/edit", admin_registries.registry_edit, name="admin-registry-edit"),
    path("admin/registries/<int:pk>/delete", admin_registries.registry_delete_view, name="admin-registry-delete"),
    path("admin/registries/<int:pk>/notification-secret", admin_registries.registry_notification_secret,
         name="admin-registry-notification-secret"),
    # Activity of one namespace, of one user.
    path("namespaces/<int:pk>/activities", activities.namespace_activities, name="namespace-activities"),
    path("users/<int:pk>/activities", activities.user_activities, name="user-activities"),
    path("admin/activities", admin_activities.activities, name="admin-activities"),
    path("admin/activities.csv", admin_activities.activities_csv, name="admin-activities-csv"),
    path("", include("web.urls_browse")),
]
