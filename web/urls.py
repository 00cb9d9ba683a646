"""URLs of the web UI. Account, dashboard and admin pages here; browsing pages in urls_browse."""

from django.urls import include, path

from web.views import account, dashboard

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
    path("", include("web.urls_browse")),
]
