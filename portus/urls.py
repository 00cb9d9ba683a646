"""Top-level URL map."""

from django.urls import include, path

from portus.views_metrics import metrics_view

urlpatterns = [
    path("metrics", metrics_view, name="metrics"),
    path("", include("realm.urls")),
    path("", include("mirror.urls")),
    path("api/", include("api.urls")),
    path("retention/", include("retention.urls")),
    path("", include("twofactor.urls")),
    path("", include("images.urls")),
    path("", include("federation.urls")),
    path("", include("web.urls")),
]

handler500 = "web.views.errors.server_error"
