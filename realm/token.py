"""The registry's token realm, `/v2/token` (PROTOCOL.md §2): GET, and POST for the OAuth2 grants."""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import os
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from accounts import credentials
from accounts.models import RefreshToken, User
from accounts.services import refresh_token_create
from namespaces import policy
from portus import metrics
from portus.options import option
from ratelimits.addresses import address_key
from realm import decisions as remembered
from realm.authorization import decide
from realm.generation import recent_both
from realm.jwt_tokens import build_claims, lifetime_seconds, token_response
from realm.keys import SigningKey
from realm.scopes import ResourceScope, TooManyScopes, parse_scopes
from registries.models import MISS_RECHECK_SECONDS, Registry, forget_directory
from registries.models import directory as registry_directory

log = logging.getLogger(__name__)


# Real clients send one to three resource scopes (a cross-repository mount two) in a few hundred bytes;
# a request far beyond that is an attack on the workers' time and the JWT's size (realm/scopes.py).
MAX_BODY_BYTES = 32 * 1024
MAX_QUERY_BYTES = 32 * 1024
# A decision is remembered at most this long (and never past a change: realm/decisions.py).
DECISION_SECONDS = 3600.0


class TokenError(Exception):
    def __init__(self, status: int, code: str, message: str, *, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


def error_response(status: int, code: str, message: str, *, retry_after: int = 0) -> JsonResponse:
    response = JsonResponse({"errors": [{"code": code, "message": message}]}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = f'Basic realm="{option("machine_fqdn.value")}"'
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def registry_for_service(service: str) -> Registry | None:
    """The registry named by a token request's `service` (any of its host names, compared canonically),
    or the oldest registry when none is named. Read from the process's copy of the registries table
    (registries/models.py): no query on the hot path, and nothing kept about names that match nothing."""
    if not service:
        return registry_directory().first or registry_directory(max_age=MISS_RECHECK_SECONDS).first
    return Registry.for_host(service)


_miss_generation: list[int | None] = [None]


def _reread_on_miss(generation: int) -> bool:
    """After a miss: whether the registries may have changed since this process last looked again (the
    registries table is watched: realm/generation.py). Then its copy is read again, once per generation, so
    that a registry added a moment ago in another process is found at once, and names that match nothing
    cost no more than one re-read per change."""
    if _miss_generation[0] == generation:
        return False
    _miss_generation[0] = generation
    forget_directory()
    return True


def forget_registries(**_) -> None:
    """Drops this process's copy of the registries table (other processes re-read theirs within seconds)."""
    forget_directory()


def signing_key() -> SigningKey:
    """The signer of the configured files (SigningKey.load stats them on every call, so that a promoted key
    signs from the next token on). Their absolute paths are worked out once per configured value."""
    base = settings.BASE_DIR
    return SigningKey.load(_absolute(base, option("secrets.key_path")),
                           _absolute(base, option("secrets.certificate_path")))


@functools.lru_cache(maxsize=16)  # keyed by configured values, never by anything a client sends
def _absolute(base_dir, raw: str) -> str:
    """portus.options.data_path of `raw` against `base_dir` (an absolute `raw` stands), made absolute."""
    return os.path.abspath(os.path.join(base_dir, raw))


def issue_token(*, user: User | None, registry: Registry, service: str, scopes: list[ResourceScope],
                refresh_token: str | None = None) -> dict:
    """Decides the access, signs the JWT and builds the response body. Also used in-process by the
    background worker for the internal account (never over HTTP: see DESIGN.md)."""
    return _issue(user=user, registry=registry, service=service, scopes=scopes, refresh_token=refresh_token)[0]


def _issue(*, user: User | None, registry: Registry, service: str, scopes: list[ResourceScope],
           refresh_token: str | None = None, generation: int | None = None) -> tuple[dict, dict]:
    """(the response body, the token's claims). With `generation` (read at the start of the request,
    realm/generation.py) the decision may come from, and goes to, realm/decisions.py."""
    via_token = getattr(user, "authenticated_with_token", None)
    token_actions = via_token.registry_actions if via_token is not None else None
    access = None
    if generation is not None:
        key = remembered.decision_key(user, token_actions, registry.pk, scopes)
        access = remembered.decisions.get(key, generation)
    if access is None:
        access = decide(user=user, registry=registry, scopes=scopes, token_actions=token_actions)
        if generation is not None:
            remembered.decisions.put(key, generation, time.time() + DECISION_SECONDS, access)
    lifetime = lifetime_seconds(access, minutes=option("registry.jwt_expiration_time.value"),
                                push_minutes=option("registry.jwt_expiration_time_push.value"))
    now = time.time()
    claims = build_claims(
        issuer=option("machine_fqdn.value"),
        subject=user.username if user is not None else "",
        audience=registry.hostname,
        access=access,
        lifetime_seconds=lifetime,
        now=now,
    )
    token = signing_key().sign(claims)
    issued = datetime.fromtimestamp(claims["iat"], tz=UTC)
    return token_response(token, lifetime_seconds=lifetime, issued_at=issued, refresh_token=refresh_token), claims


def _log_issued(claims: dict, registry: Registry) -> None:
    """The line that starts a push's trail (README, "Following a push through the logs"): who, for which
    registry, what was granted, and the token's `jti`. Never the token itself."""
    if log.isEnabledFor(logging.INFO):
        granted = " ".join(f"{e['type']}:{e['name']}:{','.join(e['actions'])}" for e in claims["access"])
        log.info("token issued to %r for %s: %s", claims["sub"][:64], registry.name, granted[:500] or "no access",
                 extra={"fields": {"jti": claims["jti"], "sub": claims["sub"][:64], "registry": registry.name,
                                   "access": granted[:500]}})


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise TokenError(401, "UNAUTHORIZED", "Only Basic authentication is accepted here.")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise TokenError(401, "UNAUTHORIZED", "Malformed Basic authorization header.") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise TokenError(401, "UNAUTHORIZED", "Malformed Basic authorization header.")
    return username, password


def _authenticate(request: HttpRequest, username: str, password: str, *, generation: int | None = None) -> User:
    if generation is not None:
        key = remembered.credential_key(username, password)
        hit = remembered.credentials.get(key, generation)
        if hit is not None:
            user, via_token = hit
            if via_token is not None:
                via_token.touch(address=credentials.client_address(request))  # once a minute, as a check would
            return user
    result = credentials.verify(username, password, address=address_key(request),
                                client_address=credentials.client_address(request))
    if result.failure is credentials.Failure.RATE_LIMITED:
        raise TokenError(429, "TOOMANYREQUESTS", result.message, retry_after=result.retry_after)
    if not result.ok:
        log.info("token request refused for %r: %s", username[:64], result.failure.value)
        raise TokenError(401, "UNAUTHORIZED", result.message)
    if result.via_token is not None and not result.via_token.registry_actions:
        raise TokenError(401, "UNAUTHORIZED", "This application token has no registry access: it is for the API "
                                              "only. Create a token with registry pull or push access.")
    # Like Django's `user.backend`: which credential this request presented (a refresh token binds to it,
    # and the token's scopes limit what is granted).
    result.user.authenticated_with_token = result.via_token
    if generation is not None and result.remember_for > 0:
        remembered.credentials.put(key, generation, time.time() + result.remember_for,
                                   (result.user, result.via_token))
    return result.user


def _user_from_refresh_token(plain: str, *, service: str, generations: tuple[int, int] | None = None) -> User:
    """The refresh token's user, if it is live, still backed by the credential that minted it, and
    presented for the registry it was minted for (RefreshToken says why `client_id` is not checked).

    With `generations` (both numbers, realm/generation.py), a token found is remembered under a keyed
    hash of it, until the moment `find` would stop finding it (`usable_until`), and never past a change
    to it, its user, the application token that minted it or the registry: all are watched, the refresh
    tokens by a number of their own. The checks that read only those rows run on every request."""
    token = key = None
    if generations is not None and RefreshToken.presentable(plain):
        key = ("refresh", RefreshToken.hash_secret(plain))  # its stored digest: a keyed hash
        token = remembered.credentials.get(key, generations)
    if token is None:
        token = RefreshToken.find(plain)
        if token is not None:
            # A refresh token minted with an application token carries that token's scopes.
            token.user.authenticated_with_token = token.application_token
            if key is not None:
                until = min(token.usable_until().timestamp(), time.time() + DECISION_SECONDS)
                remembered.credentials.put(key, generations, until, token)
    if token is None or not token.is_good_for(registry_for_service(service)) or not policy.is_active(token.user):
        raise TokenError(401, "UNAUTHORIZED", "Invalid, expired or revoked refresh token.")
    token.touch()
    return token.user


def _scope_values(data) -> list[str]:
    return [v for v in data.getlist("scope") if v]


def _is_true(value: str | None) -> bool:
    return (value or "").lower() in {"true", "1", "yes"}


def _params(request: HttpRequest):
    """The query (GET) or form (POST), refused before parsing when larger than any real client's."""
    if len(request.META.get("QUERY_STRING", "")) > MAX_QUERY_BYTES:
        raise TokenError(400, "UNSUPPORTED", f"The query string is longer than {MAX_QUERY_BYTES} bytes.")
    if request.method == "POST":
        if not request.content_type.startswith("application/x-www-form-urlencoded"):
            raise TokenError(400, "UNSUPPORTED", "POST a form (application/x-www-form-urlencoded).")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body then
        if length > MAX_BODY_BYTES:
            raise TokenError(413, "UNSUPPORTED", f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        return request.GET if request.method == "GET" else request.POST
    except SuspiciousOperation:  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
        raise TokenError(400, "UNSUPPORTED", "The request has too many fields.") from None


def _handle(request: HttpRequest) -> dict:
    params = _params(request)
    # Read (or taken from a read sent at most token_realm.generation_max_age_ms ago) before anything is
    # looked up, so that nothing remembered is older than what this request sees.
    generations = recent_both(option("token_realm.generation_max_age_ms") / 1000)
    generation = generations[0] if generations is not None else None
    if request.method == "GET":
        creds = _basic_credentials(request)
        user = _authenticate(request, *creds, generation=generation) if creds else None
        offline = _is_true(params.get("offline_token"))
    else:
        grant = params.get("grant_type", "")
        if grant == "password":
            user = _authenticate(request, params.get("username", ""), params.get("password", ""),
                                 generation=generation)
            offline = params.get("access_type") == "offline"
        elif grant == "refresh_token":
            user = _user_from_refresh_token(params.get("refresh_token", ""), service=params.get("service", ""),
                                            generations=generations)
            offline = False
        else:
            raise TokenError(404, "UNSUPPORTED", f"Unsupported grant_type {grant[:40]!r}.")
    service = params.get("service", "")
    registry = registry_for_service(service)
    if registry is None and generation is not None and _reread_on_miss(generation):
        registry = registry_for_service(service)  # a registry added since this process's copy was read
    if registry is None:
        raise TokenError(401, "UNAUTHORIZED", "Unknown service: no registry is configured with this name.")
    try:
        scopes = parse_scopes(_scope_values(params))
    except TooManyScopes as exc:
        raise TokenError(400, "UNSUPPORTED", str(exc)) from None
    refresh = None
    if offline and user is not None and not getattr(user, "keyless_login", False):  # no secret minted
        refresh = refresh_token_create(user=user, registry=registry, client_id=params.get("client_id", ""),
                                       application_token=user.authenticated_with_token)
    body, claims = _issue(user=user, registry=registry, service=service, scopes=scopes, refresh_token=refresh,
                          generation=generation)
    _log_issued(claims, registry)
    return body


@csrf_exempt
def token_view(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = _answer(request)
        status = response.status_code
        return response
    finally:
        metrics.token_request(metrics.token_outcome(status), time.perf_counter() - started)


def _answer(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "POST"):
        return error_response(404, "UNSUPPORTED", "Use GET or POST.")
    try:
        body = _handle(request)
    except TokenError as exc:
        return error_response(exc.status, exc.code, exc.message, retry_after=exc.retry_after)
    response = JsonResponse(body, status=200)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
