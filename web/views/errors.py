"""The server-error page: rendered without the request, with a plain fallback if even that fails."""

from __future__ import annotations

import logging

from django.http import HttpResponseServerError
from django.template import loader

logger = logging.getLogger("portus")

FALLBACK = (
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Server error · Portus</title></head>"
    "<body><h1>Something went wrong</h1><p>The error is logged. Try again in a moment.</p>"
    "<p><a href=\"/\">Back to the start</a></p></body></html>"
)


def server_error(request, *args, **kwargs):
    try:
        body = loader.get_template("500.html").render()
    except Exception:  # noqa: BLE001 - the error page itself must never fail
        logger.exception("The 500 page could not be rendered")
        body = FALLBACK
    return HttpResponseServerError(body)
