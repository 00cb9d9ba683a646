"""URLs of the web UI. Account, dashboard and admin pages here; browsing pages in urls_browse."""

from django.urls import include, path

urlpatterns = [
    path("", include("web.urls_browse")),
]
