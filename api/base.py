"""The one base class of every API view: authentication, body limit, CORS, input parsing, paging, lookups.

Unknown fields in a body or query are ignored, as Portus's `declared(params)` did: only the fields an
endpoint documents are read.
"""

from __future__ import annotations

import re

from django.http import QueryDict
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApplicationToken
from api.errors import AUTHORIZATION_FAILS, PayloadTooLarge
from api.pagination import paginate
from api.parsers import MAX_DEPTH, TOO_DEEP
from portus.options import option

CORS_ALLOW_HEADERS = "Content-Type, Portus-Auth, X-CSRFToken"
CORS_EXPOSE_HEADERS = "X-Per-Page, X-Page, X-Next-Page, X-Prev-Page, X-Total, X-Total-Pages, X-Total-Capped, Link"
CORS_ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
UNSTORABLE_TEXT = "Text may not contain NUL characters or unpaired surrogates."


def allowed_origins() -> set[str]:
    return {o.strip().rstrip("/") for o in str(option("cors.allowed_origins")).split(",") if o.strip()}


def apply_cors(request, response) -> None:
    """CORS headers for an allowed Origin (cors.allowed_origins, comma separated; `*` allows any)."""
    origin = request.META.get("HTTP_ORIGIN")
    if not origin:
        return
    allowed = allowed_origins()
    if origin.rstrip("/") not in allowed and "*" not in allowed:
        return
    response["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
    response["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
    response["Access-Control-Allow-Methods"] = CORS_ALLOW_METHODS
    response["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
    response["Access-Control-Max-Age"] = "600"
    vary = response.get("Vary")
    response["Vary"] = f"{vary}, Origin" if vary else "Origin"


def _unstorable(value) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def find_unstorable(data, path: str = "") -> str | None:
    """The name of the first field holding text no database can store (NUL, lone surrogates), or None."""
    if isinstance(data, str):
        return path or "body" if _unstorable(data) else None
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _unstorable(key):
                return path or "body"
            found = find_unstorable(value, name)
            if found:
                return found
    if isinstance(data, list | tuple):
        for value in data:
            found = find_unstorable(value, path)
            if found:
                return found
    return None


def form_to_nested(data: QueryDict) -> dict:
    """Form bodies in Rails' bracket notation (`user[email]=…`, `only[]=a`) as the nested dict JSON gives;
    400 when a key nests deeper than a JSON body may."""
    result: dict = {}
    for key, values in data.lists():
        head, _, rest = key.partition("[")
        parts = [head, *(_BRACKETS.findall("[" + rest) if rest else [])]
        if len(parts) > MAX_DEPTH:
            raise ParseError(TOO_DEEP)
        is_list = len(parts) > 1 and parts[-1] == ""
        if is_list:
            parts = parts[:-1]
        node = result
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = list(values) if is_list else values[-1]
    return result


class PortusAPIView(APIView):
    # Authenticated by default; views that allow anonymous callers say so. (No docstring here: the OpenAPI
    # description of an operation would inherit it.)
    permission_classes = [IsAuthenticated]

    # --- the request's way in and out ---

    def initial(self, request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > int(option("limits.max_body_bytes")):
            raise PayloadTooLarge()
        if request.method == "OPTIONS":
            # A CORS preflight carries no credentials: answer it before authentication.
            self.format_kwarg = self.get_format_suffix(**kwargs)
            request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
            return
        super().initial(request, *args, **kwargs)
        token = request.auth
        if (isinstance(token, ApplicationToken) and request.method not in SAFE_METHODS
                and not token.may_write_api):
            raise PermissionDenied("This application token has read-only API access: it may not change anything.")
        field = find_unstorable(dict(kwargs)) or find_unstorable(
            {key: request.query_params.getlist(key) for key in request.query_params}
        )
        if field:
            raise ValidationError({field: [UNSTORABLE_TEXT]})

    def options(self, request, *args, **kwargs):
        return Response(status=status.HTTP_204_NO_CONTENT, headers={"Allow": ", ".join(self.allowed_methods)})

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        apply_cors(request, response)
        return response

    # --- helpers for the views ---

    def body(self) -> dict:
        """The request body as a dict (JSON, or a form in bracket notation); 400 when it is not an object."""
        data = self.request.data
        if isinstance(data, QueryDict):
            data = form_to_nested(data)
        if not isinstance(data, dict):
            raise ValidationError({"body": ["Send a JSON object."]})
        field = find_unstorable(data)
        if field:
            raise ValidationError({field: [UNSTORABLE_TEXT]})
        return data

    def read(self, serializer_class, data: dict | None = None) -> dict:
        """Validates the body (or `data`) with an input serializer; 400 naming the fields otherwise."""
        serializer = serializer_class(data=self.body() if data is None else data, context=self.context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def context(self) -> dict:
        return {"request": self.request, "user": self.request.user, "view": self}

    def present(self, serializer_class, instance, *, status_code: int = 200, **extra) -> Response:
        return Response(serializer_class(instance, context={**self.context(), **extra}).data, status=status_code)

    def present_page(self, serializer_class, queryset, *, sort_fields: dict[str, str] | None,
                     default_sort: str = "id", **extra) -> Response:
        page = paginate(self.request, queryset, sort_fields=sort_fields, default_sort=default_sort)
        data = serializer_class(page.rows, many=True, context={**self.context(), **extra}).data
        return Response(data, headers=page.headers)

    @staticmethod
    def no_content() -> Response:
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def allow(allowed: bool, message: str = AUTHORIZATION_FAILS) -> None:
        """403 unless the policy's answer (`allowed`) is yes."""
        if not allowed:
            raise PermissionDenied(message)

    @staticmethod
    def found(queryset, **lookup):
        """The one object matching `lookup` in `queryset` (already narrowed to what the caller may see)."""
        obj = queryset.filter(**lookup).first()
        if obj is None:
            raise NotFound()
        return obj
