"""`/metrics`: the Prometheus exposition, behind an optional bearer token (`metrics.token`)."""

from __future__ import annotations

import hmac

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from portus import metrics
from portus.options import option


def _authorised(request: HttpRequest, token: str) -> bool:
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode("utf-8", "surrogateescape"),
                               token.encode("utf-8", "surrogateescape"))


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not option("metrics.enabled"):
        return HttpResponse("Metrics are turned off (metrics.enabled).\n", status=404, content_type="text/plain")
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD"
        return response
    token = option("metrics.token") or ""
    if token and not _authorised(request, token):
        response = HttpResponse("Send the metrics token as `Authorization: Bearer <token>`.\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.render(), content_type=metrics.CONTENT_TYPE_LATEST)
