"""WSGI entry point: gunicorn portus.wsgi:application.

The token endpoint and the registry's notifications take the short way through (portus/lean.py);
everything else is Django's."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portus.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

from portus.lean import LeanRoutes  # noqa: E402

application = LeanRoutes(get_wsgi_application(), {
    "/v2/token": "realm.token.token_view",
    "/v2/webhooks/events": "mirror.views.events_view",
})
