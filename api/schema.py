"""OpenAPI helpers: error bodies, paging parameters and headers, the Portus-Auth security scheme."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers

from api.authentication import HEADER

PAGINATED = "x-portus-paginated"

_MESSAGE_SCHEMA = {
    "oneOf": [
        {"type": "string"},
        {"type": "object", "additionalProperties": True},
        {"type": "array", "items": {}},
    ],
    "description": "A sentence, or for validation failures an object naming each field with its messages.",
}


@extend_schema_field(_MESSAGE_SCHEMA)
class MessageField(serializers.Field):
    def to_representation(self, value):
        return value


class ErrorSerializer(serializers.Serializer):
    message = MessageField()

    class Meta:
        ref_name = "Error"


_DESCRIPTIONS = {
    400: "The request is malformed; `message` names each field in error.",
    401: "No credentials, or bad ones (Portus-Auth header or web session).",
    403: "Authorization fails: the permission policy says no.",
    404: "Not found, or not visible to the caller.",
    405: "This instance has the feature turned off.",
    413: "The request body is larger than limits.max_body_bytes.",
    422: "The change was refused; `message` says why, by field where it can.",
    429: "Too many failed logins from this address (rate_limit.*); `Retry-After` says when to try again.",
    503: "Some component is unhealthy.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Documented error answers, e.g. `**errors(401, 403, 404)`."""
    return {code: OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[code]) for code in codes}


def authed(*codes: int) -> dict[int, OpenApiResponse]:
    """401 and 429 (every authenticated endpoint can give them: bad credentials count towards the
    address's budget) and `codes`."""
    return errors(*sorted({401, 429, *codes}))


def with_body(*codes: int) -> dict[int, OpenApiResponse]:
    """An authenticated endpoint that reads a body: 400 and 413 too."""
    return authed(400, 413, *codes)


def path_id(name: str = "id", description: str = "") -> OpenApiParameter:
    """A database id in the path (the URL converter takes 1 to 18 digits; anything else is 404)."""
    return OpenApiParameter(name, {"type": "integer", "minimum": 1, "maximum": 10**18 - 1},
                            OpenApiParameter.PATH, description=description)


PAGING_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1 (default 1)."),
    OpenApiParameter("per_page", OpenApiTypes.INT,
                     description="Entries per page (default 15); capped at pagination.max_per_page."),
    OpenApiParameter("all", OpenApiTypes.BOOL,
                     description="Everything in one answer, without paging headers; refused (400) when the list "
                                 "is longer than pagination.max_per_page."),
]


def sorting(fields: dict[str, str], default: str = "id") -> list[OpenApiParameter]:
    return [
        OpenApiParameter("sort_attr", str, enum=sorted(fields), description=f"Sort key (default {default})."),
        OpenApiParameter("sort_order", str, enum=["asc", "desc"], description="Sort direction (default asc)."),
    ]


_PAGING_HEADERS = {
    "X-Per-Page": "Entries per page used.",
    "X-Page": "This page's number.",
    "X-Next-Page": "The next page's number, empty on the last page.",
    "X-Prev-Page": "The previous page's number, empty on the first page.",
    "X-Total": "Entries in the whole list, counted up to 10,000 (see X-Total-Capped).",
    "X-Total-Pages": "Number of pages (at least 1), of the entries counted.",
    "X-Total-Capped": "Present (true) when the list holds more than 10,000 entries: X-Total and X-Total-Pages "
                      "then stop there, rel=\"last\" is left out, and pages reach the first 10,000 (sort the other way "
                      "for the other end).",
    "Link": 'URLs of the pages around, rel="prev", "next", "first", "last" (RFC 8288).',
}


def postprocess(result, generator, request, public):
    """Adds the paging headers to the 200 answer of every paged list (marked with PAGINATED)."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or not operation.pop(PAGINATED, False):
                continue
            response = operation.get("responses", {}).get("200")
            if response is not None:
                response["headers"] = {
                    name: {"schema": {"type": "string"}, "description": text}
                    for name, text in _PAGING_HEADERS.items()
                }
    return result


def preprocess(endpoints):
    """Each route is served with and without a trailing slash; document it once, without."""
    return [(path, regex, method, view) for path, regex, method, view in endpoints
            if not path.endswith("/") or path == "/"]


class PortusAuthScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.PortusAuthAuthentication"
    name = "portusAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": HEADER,
            "description": "`<username>:<application token>` (tokens are made in the profile page or with "
                           "POST /api/v1/users/{id}/application_tokens).",
        }


class PortusSessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        from django.conf import settings

        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The web UI's session; unsafe methods also need the X-CSRFToken header.",
        }
