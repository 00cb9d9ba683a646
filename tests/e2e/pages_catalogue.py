"""Which pages the every-page browser test (tests/e2e/test_every_page.py) visits, as whom and at which path
of the seeded data (tests/e2e/pages_seed.py); which GET patterns are not pages, and why; and the GET
patterns of the URL map, which a page added later must join."""

from __future__ import annotations

from collections.abc import Callable

from tests.urlmap import walk

# --- which pages -----------------------------------------------------------------------------------------

# A page: who looks at it ("admin": the 64-character administrator; "anonymous"; "second-step": half-way
# through signing in with an authenticator app), and its path from the seeded ids.
PAGES: dict[str, tuple[str, Callable[[dict], str]]] = {
    "dashboard": ("admin", lambda s: "/"),
    "sign_in": ("anonymous", lambda s: "/users/sign_in"),
    "sign_up": ("anonymous", lambda s: "/users/sign_up"),
    "password_reset": ("anonymous", lambda s: "/users/password/new"),
    "password_reset_done": ("anonymous", lambda s: "/users/password/sent"),
    "password_reset_confirm": ("anonymous",
                               lambda s: f"/users/password/edit/{s['reset']['uid']}/{s['reset']['token']}"),
    "password_reset_complete": ("anonymous", lambda s: "/users/password/done"),
    "twofactor-verify": ("second-step", lambda s: "/users/two_factor/verify"),
    "profile": ("admin", lambda s: "/users/edit"),
    "twofactor-setup": ("admin", lambda s: "/users/two_factor"),
    "twofactor-totp": ("admin", lambda s: "/users/two_factor/totp"),
    "admin-status": ("admin", lambda s: "/admin"),
    "admin-users": ("admin", lambda s: "/admin/users"),
    "admin-user-new": ("admin", lambda s: "/admin/users/new"),
    "admin-user": ("admin", lambda s: f"/admin/users/{s['user']}"),
    "admin-user-delete": ("admin", lambda s: f"/admin/users/{s['user']}/delete"),
    "admin-robots": ("admin", lambda s: "/admin/robots"),
    "robot": ("admin", lambda s: f"/robots/{s['robot']}"),
    "trust-policies": ("admin", lambda s: f"/admin/users/{s['robot']}/trust_policies"),
    "robot-trust-policies": ("admin", lambda s: f"/robots/{s['robot']}/trust_policies"),
    "user-activities": ("admin", lambda s: f"/users/{s['user']}/activities"),
    "admin-registries": ("admin", lambda s: "/admin/registries"),
    "admin-registry-new": ("admin", lambda s: "/admin/registries/new"),
    "admin-registry-edit": ("admin", lambda s: f"/admin/registries/{s['registry']}/edit"),
    "admin-registry-delete": ("admin", lambda s: f"/admin/registries/{s['registry']}/delete"),
    "admin-teams": ("admin", lambda s: "/admin/teams"),
    "admin-activities": ("admin", lambda s: "/admin/activities"),
    "admin-storage": ("admin", lambda s: "/admin/storage"),
    "namespaces": ("admin", lambda s: "/namespaces"),
    "namespace-new": ("admin", lambda s: "/namespaces/new"),
    "namespace": ("admin", lambda s: f"/namespaces/{s['namespace']}"),
    "namespace-personal": ("admin", lambda s: f"/namespaces/{s['personal_namespace']}"),
    "namespace-edit": ("admin", lambda s: f"/namespaces/{s['namespace']}/edit"),
    "namespace-delete": ("admin", lambda s: f"/namespaces/{s['namespace']}/delete"),
    "namespace-activities": ("admin", lambda s: f"/namespaces/{s['namespace']}/activities"),
    "namespace-robots": ("admin", lambda s: f"/namespaces/{s['namespace']}/robots"),
    "namespace-grants": ("admin", lambda s: f"/namespaces/{s['namespace']}/grants"),
    "namespace-signing-keys": ("admin", lambda s: f"/namespaces/{s['namespace']}/signing_keys"),
    "webhooks": ("admin", lambda s: f"/namespaces/{s['namespace']}/webhooks"),
    "webhook-new": ("admin", lambda s: f"/namespaces/{s['namespace']}/webhooks/new"),
    "webhook": ("admin", lambda s: f"/namespaces/{s['namespace']}/webhooks/{s['webhook']}"),
    "webhook-edit": ("admin", lambda s: f"/namespaces/{s['namespace']}/webhooks/{s['webhook']}/edit"),
    "webhook-delete": ("admin", lambda s: f"/namespaces/{s['namespace']}/webhooks/{s['webhook']}/delete"),
    "webhook-delivery": ("admin", lambda s:
                         f"/namespaces/{s['namespace']}/webhooks/{s['webhook']}/deliveries/{s['delivery']}"),
    "teams": ("admin", lambda s: "/teams"),
    "team-new": ("admin", lambda s: "/teams/new"),
    "team": ("admin", lambda s: f"/teams/{s['team']}"),
    "team-edit": ("admin", lambda s: f"/teams/{s['team']}/edit"),
    "team-delete": ("admin", lambda s: f"/teams/{s['team']}/delete"),
    "repositories": ("admin", lambda s: "/repositories"),
    "repository": ("admin", lambda s: f"/repositories/{s['repository']}"),
    "repository-edit": ("admin", lambda s: f"/repositories/{s['repository']}/edit"),
    "repository-delete": ("admin", lambda s: f"/repositories/{s['repository']}/delete"),
    "tag": ("admin", lambda s: f"/tags/{s['tag']}"),
    "tag-delete": ("admin", lambda s: f"/tags/{s['tag']}/delete"),
    "search": ("admin", lambda s: "/search?q=payments"),
    "explore": ("anonymous", lambda s: "/explore"),
    "retention": ("admin", lambda s: "/retention/"),
    "retention-namespace": ("admin", lambda s: f"/retention/namespaces/{s['personal_namespace']}"),
    "retention-repository": ("admin", lambda s: f"/retention/repositories/{s['repository']}"),
    "retention-run": ("admin", lambda s: f"/retention/runs/{s['run']}"),
    "api-docs": ("admin", lambda s: "/api/docs"),
}
# Pages that no URL pattern names: the error pages.
EXTRA_PAGES: dict[str, tuple[str, Callable[[dict], str], int]] = {
    "not-found": ("admin", lambda s: "/namespaces/999999", 404),
}

# GET patterns that are not pages to lay out, and why.
EXCLUDED = {
    "metrics": "Prometheus text for a scraper",
    "registry-token": "the registry's token endpoint (JSON)",
    "registry-events": "the registry's notification endpoint (JSON)",
    "api-schema": "the OpenAPI document (YAML/JSON), shown by api-docs",
    "admin-activities-csv": "a CSV download of the activities page's rows",
    "team-typeahead": "JSON for the member field's suggestions",
    "oauth-callback": "a provider's redirect back, 404 without a configured provider (tests/e2e/test_oidc_browser.py)",
    "namespace-release": "only for a retired namespace, whose name the registry still holds "
                         "(tests/e2e/test_reclaimed_names.py)",
    "namespace-purge": "only for a retired namespace (tests/e2e/test_reclaimed_names.py)",
    "twofactor-recovery-new": "shown once, from the session, after a first passkey: needs a real authenticator",
}
# Pages not drawn by templates/base.html, so without the theme switch.
UNTHEMED = {"api-docs": "Swagger UI's own page"}
# What a page draws with its script after loading, to wait for before looking at it.
READY = {"api-docs": "#swagger-ui .opblock"}
# Pages whose serious axe findings are counted and shown but do not fail the test, and why.
# (None now: the API docs page's colours come from portus/static/portus/swagger.css, and Swagger UI draws no
# link inside an operation's button with deepLinking off.)
AXE_NOT_BLOCKING: dict[str, str] = {}
EXCLUDED_PREFIXES = {"api/v1/": "the REST API (JSON; tests/api)", "api/version": "the REST API (JSON)",
                     "api/^": "the API's JSON answer for an unknown path"}


def _methods(view) -> set[str] | None:
    """The methods a view answers (from require_http_methods' list, or a class view's), None for any."""
    view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if view_class is not None:
        return {m.upper() for m in view_class.http_method_names}
    seen = view
    while seen is not None:
        for cell in getattr(seen, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, list | tuple) and value and all(isinstance(m, str) and m.isupper() for m in value):
                return set(value)
        seen = getattr(seen, "__wrapped__", None)
    return None


def get_patterns() -> dict[str, str]:
    """URL name → pattern, for every pattern whose view answers GET (unnamed ones by their pattern)."""
    found: dict[str, str] = {}
    for route, pattern in walk():
        methods = _methods(pattern.callback)
        if methods is None or "GET" in methods:
            found.setdefault(pattern.name or route, route)
    return found
