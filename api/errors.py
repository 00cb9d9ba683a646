"""The API's error answers: always `{"message": …}`, with Portus's status codes.

400 the request is malformed (serializer validation: `message` is an object of field errors),
401 no or bad credentials, 403 the policy says no, 404 unknown or invisible, 405 method or feature
disabled, 413 body too large, 422 a service refused the change (`message` names the fields when it can),
500 anything unexpected (logged, never shown).
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

log = logging.getLogger("portus.api")

NOT_FOUND = "Not found"
AUTHENTICATION_FAILS = "Authentication fails"
AUTHORIZATION_FAILS = "Authorization fails"


class FeatureDisabled(exceptions.APIException):
    """405: the endpoint exists but this instance has the feature turned off."""

    status_code = status.HTTP_405_METHOD_NOT_ALLOWED
    default_detail = "This instance has disabled this endpoint."
    default_code = "feature_disabled"


class BadRequest(exceptions.APIException):
    """400 with one sentence as the message (serializer failures give field errors instead)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad Request"
    default_code = "bad_request"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Unprocessable(exceptions.APIException):
    """422 with a message of our own (e.g. the registry refused a delete)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "Unprocessable Entity"
    default_code = "unprocessable"


def _plain(detail):
    """DRF's ErrorDetail tree as plain JSON values."""
    if isinstance(detail, dict):
        return {str(key): _plain(value) for key, value in detail.items()}
    if isinstance(detail, list | tuple):
        return [_plain(item) for item in detail]
    return str(detail)


def django_validation_message(exc: DjangoValidationError):
    """A service's ValidationError as the `message` value: field → [messages], or one string."""
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
    return " ".join(str(m) for m in exc.messages)


def error_response(message, status_code: int, headers: dict | None = None) -> Response:
    return Response({"message": message}, status=status_code, headers=headers)


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every failure of an API view becomes `{"message": …}`."""
    if isinstance(exc, Http404):
        return error_response(NOT_FOUND, 404)
    if isinstance(exc, DjangoPermissionDenied):
        return error_response(str(exc) or AUTHORIZATION_FAILS, 403)
    if isinstance(exc, DjangoValidationError):
        return error_response(django_validation_message(exc), 422)
    if isinstance(exc, RequestDataTooBig):
        return error_response(PayloadTooLarge.default_detail, 413)
    if isinstance(exc, exceptions.NotAuthenticated):
        return error_response(AUTHENTICATION_FAILS, 401, _authenticate_header(exc, context))
    if isinstance(exc, exceptions.AuthenticationFailed):
        return error_response(_plain(exc.detail), 401, _authenticate_header(exc, context))
    if isinstance(exc, exceptions.PermissionDenied):
        detail = _plain(exc.detail)
        return error_response(AUTHORIZATION_FAILS if detail == exceptions.PermissionDenied.default_detail
                              else detail, 403)
    if isinstance(exc, exceptions.NotFound):
        return error_response(NOT_FOUND, 404)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        return error_response(_plain(exc.detail), exc.status_code, headers)
    view = context.get("view")
    log.exception("API error in %s", type(view).__name__ if view else "?")
    return error_response("Internal server error", 500)


def _authenticate_header(exc, context) -> dict:
    request = context.get("request")
    view = context.get("view")
    if request is not None and view is not None:
        header = view.get_authenticate_header(request)
        if header:
            return {"WWW-Authenticate": header}
    return {}


@csrf_exempt
def not_found_view(request, *args, **kwargs):
    """Every /api/ path that matches no route: a JSON 404, like Portus's catch-all."""
    return JsonResponse({"message": NOT_FOUND}, status=404)
