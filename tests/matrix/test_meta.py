"""The matrix covers every door: a route (and, in the API, a method) with no row fails here, named.

Routes are read from Django's URL resolver and the API's methods from its DRF views, cross-checked with the
OpenAPI description; the tables' paths are resolved to the same routes. The web UI's URLs need a GET and a
POST row each (a GET must never act; a POST-only page says 405 to a GET)."""

from __future__ import annotations

import re

import pytest
from django.urls import resolve

from tests.matrix.actors import ACTORS
from tests.matrix.api_table import API
from tests.matrix.token_table import LOGINS, SCOPES
from tests.matrix.web_table import WEB
from tests.urlmap import walk

METHODS = ("get", "post", "put", "patch", "delete")
# Doors that no actor of the matrix uses: the registry's notifications (its own secret, tests/webhooks),
# Prometheus's scrape (the metrics token, tests/ops), the token endpoint (its own table, token_table.py)
# and the API's catch-all JSON 404.
NOT_ACTOR_DOORS = {"v2/webhooks/events", "metrics", "v2/token", "api/^.*$"}


def _routes() -> dict[str, object]:
    """route → view, without the API's trailing-slash twins (the same view under `route/`)."""
    routes = {}
    for route, pattern in walk():
        if route.endswith("/") and route[:-1] in routes and route.startswith("api/"):
            continue
        routes.setdefault(route, pattern.callback)
    return routes


def _route_of(path: str) -> str:
    """The resolver's route for a table's path: placeholders become an id, the query goes."""
    concrete = re.sub(r"\{[a-z_]+\}", "1", path.split("?")[0])
    match = resolve(concrete)
    return match.route


def _api_methods(callback) -> set[str]:
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    assert view is not None, f"an API route without a class-based view: {callback}"
    return {m.upper() for m in METHODS if hasattr(view, m)}


def missing_api_rows(table) -> list[str]:
    declared = {(_route_of(path), method) for method, path, _, _ in table}
    missing = []
    for route, callback in _routes().items():
        if not route.startswith("api/") or route in NOT_ACTOR_DOORS:
            continue
        missing += [f"{method} /{route}" for method in sorted(_api_methods(callback))
                    if (route, method) not in declared]
    return missing


def missing_web_rows(table) -> list[str]:
    declared = {(_route_of(path), method) for method, path, _, _ in table}
    missing = []
    for route in _routes():
        if route.startswith("api/") or route in NOT_ACTOR_DOORS:
            continue
        missing += [f"{method} /{route}" for method in ("GET", "POST") if (route, method) not in declared]
    return missing


def test_every_api_route_and_method_has_rows():
    missing = missing_api_rows(API)
    assert not missing, "API doors without a row in tests/matrix/api_table.py: " + ", ".join(missing)


def test_every_operation_of_the_openapi_description_has_rows():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    declared = {(_route_of(path), method) for method, path, _, _ in API}
    missing = []
    for path, operations in schema["paths"].items():
        for method in operations:
            if method.upper() in {m.upper() for m in METHODS} and (_route_of(path), method.upper()) not in declared:
                missing.append(f"{method.upper()} {path}")
    assert not missing, "documented operations without a row in tests/matrix/api_table.py: " + ", ".join(missing)


def test_every_web_url_has_a_get_and_a_post_row():
    missing = missing_web_rows(WEB)
    assert not missing, "web doors without a row in tests/matrix/web_table.py: " + ", ".join(missing)


def test_a_door_without_its_row_is_named():
    """The check can fail: drop a line of each table and the door it covered is named."""
    key = "/api/v1/namespaces/{qa}/signing_keys/{signing_key}"
    without = [row for row in API if not (row[0] == "DELETE" and row[1] == key)]
    assert missing_api_rows(without) == ["DELETE /api/v1/namespaces/<id:id>/signing_keys/<id:key_id>"]
    without = [row for row in WEB if not (row[0] == "POST" and row[1] == "/tags/{tag}/delete")]
    assert missing_web_rows(without) == ["POST /tags/<int:pk>/delete"]


def test_the_doors_left_out_exist():
    """A door named in NOT_ACTOR_DOORS that is gone (or renamed) must leave the list too."""
    assert NOT_ACTOR_DOORS <= set(_routes())


def test_every_actor_logs_in_at_the_token_endpoint():
    assert {actor for actor, _, _ in LOGINS} == {actor.name for actor in ACTORS}


@pytest.mark.parametrize("table", ["api", "web"])
def test_no_row_names_a_door_that_does_not_exist(table):
    """Each table path resolves to a route (a typo would otherwise test a 404 forever)."""
    rows = API if table == "api" else WEB
    routes = _routes()
    for _, path, _, _ in rows:
        assert _route_of(path) in routes or _route_of(path) + "/" in routes, path
        assert _route_of(path) != "api/^.*$", f"{path} reaches only the API's catch-all 404"


def test_the_matrix_is_at_least_two_thousand_rows():
    rows = (len(API) + len(WEB)) * len(ACTORS) + len(LOGINS) * len(SCOPES)
    assert rows >= 2000, rows
