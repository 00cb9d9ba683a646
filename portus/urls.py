"""Top-level URL map."""

from django.urls import include, path

urlpatterns = [
    path("", include("registries.urls")),
    path("", include("webhooks.urls")),
    path("api/", include("api.urls")),
    path("", include("web.urls")),
]

handler500 = "web.views.errors.server_error"
