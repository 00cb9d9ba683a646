"""The OpenAPI description at /api/openapi-spec (Portus's path) and the docs page at /api/docs."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PORTUS_PATHS = {
    "/api/version": {"get"},
    "/api/v1/_ping": {"get"},
    "/api/v1/health": {"get"},
    "/api/v1/users": {"get", "post"},
    "/api/v1/users/{id}": {"get", "put", "delete"},
    "/api/v1/users/bootstrap": {"post"},
    "/api/v1/users/{id}/application_tokens": {"get", "post"},
    "/api/v1/users/application_tokens/{id}": {"delete"},
    "/api/v1/users/{id}/refresh_tokens": {"get"},
    "/api/v1/users/refresh_tokens/{id}": {"delete"},
    "/api/v1/users/{id}/trust_policies": {"get", "post"},
    "/api/v1/trust_policies/{id}": {"put", "delete"},
    "/api/v1/registries": {"get", "post"},
    "/api/v1/registries/{id}": {"put", "delete"},
    "/api/v1/registries/validate": {"get"},
    "/api/v1/registries/{id}/notification_secret": {"post"},
    "/api/v1/teams": {"get", "post"},
    "/api/v1/teams/{id}": {"get", "put", "delete"},
    "/api/v1/teams/{id}/ldap_check": {"post"},
    "/api/v1/teams/{id}/namespaces": {"get"},
    "/api/v1/teams/{id}/members": {"get", "post"},
    "/api/v1/teams/{id}/members/{member_id}": {"put", "delete"},
    "/api/v1/namespaces": {"get", "post"},
    "/api/v1/namespaces/validate": {"get"},
    "/api/v1/namespaces/{id}": {"get", "put", "delete"},
    "/api/v1/namespaces/{id}/repositories": {"get"},
    "/api/v1/namespaces/retired": {"get"},
    "/api/v1/namespaces/{id}/release": {"post"},
    "/api/v1/namespaces/{id}/grants": {"get", "post"},
    "/api/v1/namespaces/{id}/grants/{grant_id}": {"put", "delete"},
    "/api/v1/robots": {"get", "post"},
    "/api/v1/robots/{id}": {"get", "put", "delete"},
    "/api/v1/namespaces/{id}/purge": {"post"},
    "/api/v1/repositories": {"get"},
    "/api/v1/repositories/{id}": {"get", "put", "delete"},
    "/api/v1/repositories/{id}/tags": {"get"},
    "/api/v1/repositories/{id}/tags/grouped": {"get"},
    "/api/v1/repositories/{id}/tags/{tag_id}": {"get"},
    "/api/v1/repositories/{id}/comments": {"get", "post"},
    "/api/v1/repositories/{id}/comments/{comment_id}": {"delete"},
    "/api/v1/repositories/{id}/toggle_star": {"post"},
    "/api/v1/tags": {"get"},
    "/api/v1/tags/{id}": {"get", "delete"},
    "/api/v1/tags/{id}/details": {"get"},
    "/api/v1/repositories/{id}/storage": {"get"},
    "/api/v1/namespaces/{id}/storage": {"get"},
    "/api/v1/namespaces/{id}/signing_keys": {"get", "post"},
    "/api/v1/namespaces/{id}/signing_keys/{key_id}": {"delete"},
    "/api/v1/registries/{id}/storage": {"get"},
    "/api/v1/vulnerabilities": {"post"},
    "/api/v1/vulnerabilities/{id}": {"post"},
    "/api/v1/retention/rules": {"get"},
    "/api/v1/retention/rules/instance": {"get", "put"},
    "/api/v1/retention/rules/namespaces/{id}": {"get", "put", "delete"},
    "/api/v1/retention/rules/repositories/{id}": {"get", "put", "delete"},
    "/api/v1/retention/runs": {"get", "post"},
    "/api/v1/retention/runs/{id}": {"get"},
    "/api/v1/retention/runs/{id}/items": {"get"},
    "/api/v1/retention/runs/{id}/report": {"get"},
    "/api/v1/retention/runs/{id}/pause": {"post"},
    "/api/v1/retention/runs/{id}/resume": {"post"},
    "/api/v1/retention/runs/{id}/cancel": {"post"},
    "/api/v1/namespaces/{id}/webhooks": {"get", "post"},
    "/api/v1/namespaces/{id}/webhooks/{webhook_id}": {"get", "put", "delete"},
    "/api/v1/namespaces/{id}/webhooks/{webhook_id}/secret": {"post"},
    "/api/v1/namespaces/{id}/webhooks/{webhook_id}/ping": {"post"},
    "/api/v1/namespaces/{id}/webhooks/{webhook_id}/deliveries": {"get"},
    "/api/v1/namespaces/{id}/webhooks/{webhook_id}/deliveries/{delivery_id}": {"get"},
    "/api/v1/namespaces/{id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": {"post"},
}


@pytest.fixture
def spec(db):
    response = APIClient().get("/api/openapi-spec")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def test_every_portus_route_is_described(spec):
    described = {path: set(item) - {"parameters"} for path, item in spec["paths"].items()}
    assert described == PORTUS_PATHS


def test_the_schema_is_valid_openapi(spec):
    from drf_spectacular.validation import validate_schema

    validate_schema(spec)


def test_security_schemes(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["portusAuth"] == {**schemes["portusAuth"], "type": "apiKey", "in": "header",
                                     "name": "Portus-Auth"}
    assert schemes["cookieAuth"]["in"] == "cookie"
    assert {} in spec["paths"]["/api/v1/health"]["get"]["security"]  # anyone; admins see more
    assert {"portusAuth": []} in spec["paths"]["/api/v1/teams"]["get"]["security"]


def test_errors_are_described(spec):
    operation = spec["paths"]["/api/v1/tags/{id}"]["delete"]
    assert set(operation["responses"]) == {"204", "401", "403", "404", "405", "422", "429"}
    error = operation["responses"]["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}


def test_paging_headers_are_described(spec):
    headers = spec["paths"]["/api/v1/repositories"]["get"]["responses"]["200"]["headers"]
    assert {"X-Per-Page", "X-Page", "X-Next-Page", "X-Prev-Page", "X-Total", "X-Total-Pages", "Link"} <= set(headers)
    names = [p["name"] for p in spec["paths"]["/api/v1/repositories"]["get"]["parameters"]]
    assert {"page", "per_page", "all", "sort_attr", "sort_order"} <= set(names)


def test_portus_field_names_are_kept(spec):
    schemas = spec["components"]["schemas"]
    assert "api-versions" in schemas["Version"]["properties"]
    assert "global" in schemas["Namespace"]["properties"]


def test_docs_page_uses_the_sidecar_not_a_cdn(db):
    response = APIClient().get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert not re.search(r"https?://(cdn|unpkg|cdnjs)", html)
    # Nothing inline (the Content-Security-Policy allows none): the page's script is its own URL.
    assert "<style" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
    script = APIClient().get("/api/docs", {"script": ""})
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert '"/api/openapi\\u002Dspec"' in script.content.decode()


def test_docs_page_wears_the_sites_theme_and_leads_back(db):
    html = APIClient().get("/api/docs").content.decode()
    assert "/static/portus/theme.js" in html and "/static/portus/swagger.css" in html
    assert 'class="portus-docs-header"' in html and '<a href="/">' in html


def test_every_page_footer_links_to_the_api_docs(db, client):
    html = client.get("/users/password/new").content.decode()
    assert '<a class="link-secondary" href="/api/docs">API documentation</a>' in html


def test_sidecar_assets_are_served(db, client):
    response = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert response.status_code == 200
