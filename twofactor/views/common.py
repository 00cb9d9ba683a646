"""What the views of the second factor share: JSON bodies and answers, rate-limit answers."""

from __future__ import annotations

from django.http import JsonResponse

from twofactor.passkeys import MAX_BODY_BYTES, CeremonyError, parse_body


def json_error(message: str, status: int = 400, retry_after: int = 0) -> JsonResponse:
    response = JsonResponse({"message": message}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def json_options(options_json: str) -> JsonResponse:
    response = JsonResponse({}, status=200)
    response.content = ('{"publicKey": ' + options_json + "}").encode()
    return response


def json_redirect(url: str) -> JsonResponse:
    return JsonResponse({"redirect": url})


def read_credential(request) -> dict:
    """The browser's answer, refused before reading when the body is too large."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise CeremonyError(f"The answer is larger than {MAX_BODY_BYTES} bytes.")
    return parse_body(request.body)


def too_many(response, retry_after: int):
    response.status_code = 429
    response["Retry-After"] = str(retry_after)
    return response
