"""URLs of the retention pages, mounted at /retention/."""

from django.urls import path

from retention import views

urlpatterns = [
    path("", views.index, name="retention"),
    path("namespaces/<int:pk>", views.namespace_rule, name="retention-namespace"),
    path("repositories/<int:pk>", views.repository_rule, name="retention-repository"),
    path("rules/<int:pk>/delete", views.rule_delete, name="retention-rule-delete"),
    path("runs", views.run_start, name="retention-run-start"),
    path("runs/<int:pk>", views.run_show, name="retention-run"),
    path("runs/<int:pk>/<str:action>", views.run_action, name="retention-run-action"),
]
