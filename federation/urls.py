"""URLs of single sign-on (Portus's /users/oauth/...) and of robots' trust policies."""

from django.urls import path

from federation import views, views_trust

urlpatterns = [
    path("users/oauth/<str:provider>/start", views.sign_in_start, name="oauth-start"),
    path("users/oauth/<str:provider>/callback", views.callback, name="oauth-callback"),
    path("users/oauth/<str:provider>/link", views.link_start, name="oauth-link"),
    path("users/identities/<int:pk>/unlink", views.unlink, name="oauth-unlink"),
    path("admin/users/<int:pk>/trust_policies", views_trust.policies, name="trust-policies"),
    path("admin/users/<int:pk>/trust_policies/<int:policy_pk>/delete", views_trust.policy_delete,
         name="trust-policy-delete"),
    # The same pages for a namespace's robot, where its namespace's owners manage it.
    path("robots/<int:pk>/trust_policies", views_trust.policies, name="robot-trust-policies"),
    path("robots/<int:pk>/trust_policies/<int:policy_pk>/delete", views_trust.policy_delete,
         name="robot-trust-policy-delete"),
]
