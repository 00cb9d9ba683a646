"""URLs of the registry's notification endpoint."""

from django.urls import path

from mirror.views import events_view

urlpatterns = [
    path("v2/webhooks/events", events_view, name="registry-events"),
]
