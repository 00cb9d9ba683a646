"""Django settings, built from config/ and the environment (see portus.config)."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url

from portus import config as _config

BASE_DIR = _config.BASE_DIR
PORTUS = _config.load()

DEBUG = PORTUS["debug"]["enabled"]
MACHINE_FQDN = PORTUS["machine_fqdn"]["value"]

SECRET_KEY = PORTUS["secrets"]["secret_key_base"]
if not SECRET_KEY:
    if not DEBUG and not os.environ.get("PORTUS_ALLOW_EPHEMERAL_SECRET"):
        raise _config.ConfigError(
            "secrets.secret_key_base: required (set PORTUS_SECRET_KEY_BASE to a long random string)"
        )
    # A try-out without a configured key: a random one, never a known one. It is exported so that the
    # processes this one starts share it (runserver's reloaded child); portus/gunicorn.conf.py makes one in
    # the gunicorn master for the same reason, so that all workers sign sessions alike. A process started
    # separately (the background process) has its own, and every restart ends sessions and invalidates
    # application and refresh tokens: hence for try-outs only.
    SECRET_KEY = os.environ["PORTUS_SECRET_KEY_BASE"] = secrets.token_urlsafe(50)
    print("portus: no secrets.secret_key_base: using a random key until this process stops", file=sys.stderr)

ALLOWED_HOSTS = [h.strip() for h in PORTUS["allowed_hosts"]["value"].split(",") if h.strip()]
ALLOWED_HOSTS.append(MACHINE_FQDN.split(":")[0])
if DEBUG:
    ALLOWED_HOSTS.append("*")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portus",
    "accounts",
    "ratelimits",
    "teams",
    "ldapauth",
    "registries",
    "namespaces",
    "grants",
    "activities",
    "traffic",
    "realm",
    "mirror",
    "retention",
    "images",
    "hooks",
    "api",
    "web",
    "twofactor",
    "federation",
]

MIDDLEWARE = [
    "portus.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "web.middleware.DisabledSessionMiddleware",
    "twofactor.enforcement.EnrolmentRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portus.urls"
WSGI_APPLICATION = "portus.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portus.context_processors.portus",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'portus.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
        # Behind PgBouncer in transaction mode: no server-side cursors, and no prepared statements (portus/prepared.py).
        disable_server_side_cursors=bool(os.environ.get("DATABASE_DISABLE_SERVER_SIDE_CURSORS")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several threads and processes share the embedded database in a local run.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.PortusBackend"]
LOGIN_URL = "/users/sign_in"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/users/sign_in"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if os.environ.get("PORTUS_FAST_PASSWORD_HASHER"):
    # Test runs only: hashing cost is not what they measure.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "portus",
        "OPTIONS": {"MAX_ENTRIES": 20000},
    }
}

# --- TLS, cookies and security headers ----------------------------------------------------------
# `tls.enabled`: browsers reach this service over HTTPS. A request counts as HTTPS when gunicorn served it
# over TLS, or when a proxy listed in FORWARDED_ALLOW_IPS said so in X-Forwarded-Proto (gunicorn ignores
# that header from anyone else). PORTUS_BEHIND_TLS_PROXY, the older switch, implies tls.enabled and makes
# Django itself believe X-Forwarded-Proto: only for servers that cannot restrict who sends it.
BEHIND_TLS_PROXY = _config._parse_bool("PORTUS_BEHIND_TLS_PROXY", os.environ.get("PORTUS_BEHIND_TLS_PROXY") or "0")
TLS = PORTUS["tls"]["enabled"] or BEHIND_TLS_PROXY
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = TLS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Browsers are sent to HTTPS; machine doors are not redirected: a registry or a client asking for a
# token must never be (Go turns a redirected POST into a GET), the registry may post its notifications
# over the internal network, and probes ask over plain HTTP.
SECURE_SSL_REDIRECT = TLS
SECURE_REDIRECT_EXEMPT = [r"^v2/", r"^api/v1/(_ping|health)/?$"]
# Django sends Strict-Transport-Security on HTTPS answers only.
SECURE_HSTS_SECONDS = PORTUS["tls"]["hsts_seconds"] if TLS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PORTUS["tls"]["hsts_include_subdomains"]
SECURE_HSTS_PRELOAD = PORTUS["tls"]["hsts_preload"]
# Preload is the operator's commitment (hstspreload.org), not a default: its reminder is silenced.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Everything from this origin, nothing inline (no inline scripts, styles or event handlers: the theme is
# set by a synchronous static script, so no nonce is needed); Bootstrap's icons are data: images.
from csp.constants import NONE, SELF  # noqa: E402

from federation.csp import sign_in_origins as _sign_in_origins  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF, *_sign_in_origins(PORTUS)],  # the sign-in buttons redirect to the providers
        "frame-ancestors": [NONE],
    }
}
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("PORTUS_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

DATA_UPLOAD_MAX_MEMORY_SIZE = PORTUS["limits"]["max_body_bytes"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# Bootstrap's dist files, from the bootstrap-wrapper wheel, are served as static/bootstrap/{css,js}/….
from bootstrap_wrapper import get_bootstrap_dir  # noqa: E402

STATICFILES_DIRS = [BASE_DIR / "portus" / "static", ("bootstrap", get_bootstrap_dir())]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and not os.environ.get("PORTUS_PLAIN_STATIC")
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or bool(os.environ.get("PORTUS_PLAIN_STATIC"))

_email = PORTUS["email"]
DEFAULT_FROM_EMAIL = f'{_email["name"]} <{_email["from"]}>'
if _email["backend"] == "smtp":
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email["smtp_address"]
    EMAIL_PORT = _email["smtp_port"]
    EMAIL_HOST_USER = _email["smtp_user"]
    EMAIL_HOST_PASSWORD = _email["smtp_password"]
    EMAIL_USE_TLS = _email["smtp_tls"]
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.PortusAuthAuthentication",
        "api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON or form bodies, as Portus consumed ("application/x-www-form-urlencoded", "application/json").
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.PortusJSONParser",  # DRF's, with a bound on nesting depth
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Portus API",
    "DESCRIPTION": (
        "REST API v1 of Portus: users, teams, namespaces, repositories, tags and registries.\n\n"
        "Authenticate with the header `Portus-Auth: <username>:<application token>`, or the web session "
        "(unsafe methods then need the X-CSRFToken header). Errors are `{\"message\": …}`: a sentence, or "
        "for validation failures an object naming each field. Lists take `page`, `per_page` (at most "
        "pagination.max_per_page), `all`, `sort_attr` and `sort_order`, and answer paging headers. Fields a "
        "body or query does not document are ignored."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["api.schema.preprocess"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.postprocess"],
    "ENUM_NAME_OVERRIDES": {"RoleEnum": "teams.models.Role", "VisibilityEnum": "namespaces.models.Visibility"},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No links to each operation: Swagger UI draws them inside the operation's button (a link in a button).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "REDOC_DIST": "SIDECAR",
}

LOG_LEVEL = os.environ.get("PORTUS_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # `logging.json` (PORTUS_LOGGING_JSON): one JSON object per line; either way every line carries the
    # request id (portus/logs.py).
    "filters": {"context": {"()": "portus.logs.ContextFilter"}},
    "formatters": {
        "plain": {"()": "portus.logs.PlainFormatter",
                  "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "portus.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["context"],
                             "formatter": "json" if PORTUS["logging"]["json"] else "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "portus": {"level": LOG_LEVEL},
        "registries": {"level": LOG_LEVEL},
        "realm": {"level": LOG_LEVEL},
        "mirror": {"level": LOG_LEVEL},
        "accounts": {"level": LOG_LEVEL},
        "namespaces": {"level": LOG_LEVEL},
    },
}

# Where a local run keeps its database, keys and generated secrets.
VAR_DIR = Path(os.environ.get("PORTUS_VAR_DIR", BASE_DIR / "var"))
