"""Every REST API body, fed hostile JSON: never a 5xx, always a JSON answer of bounded size.

The operations and their fields come from the API's own OpenAPI description, so an endpoint added
later is fuzzed without anyone remembering to list it here.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import client_for, make_repository
from tests.fuzz.strategies import hostile_json, hostile_text

MAX_ANSWER_BYTES = 256 * 1024
_PARAM_RE = re.compile(r"\{([a-z_]+)\}")


def _operations(client) -> list[tuple[str, str, dict[str, list[str]]]]:
    """(method, path template, {field: nested field names}) of every operation that takes a JSON body."""
    spec = client.get("/api/openapi-spec").json()
    schemas = spec.get("components", {}).get("schemas", {})
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if method not in ("post", "put", "patch") or body is None:
                continue
            properties = _properties(body.get("schema", {}), schemas)
            found.append((method, path, {name: sorted(_properties(inner, schemas))
                                         for name, inner in properties.items()}))
    return found


def _properties(schema: dict, schemas: dict) -> dict:
    if "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema.get("properties", {})


def _body_for(fields: dict[str, list[str]]) -> st.SearchStrategy:
    """Bodies shaped like the operation's (its field names, nested as declared: Portus wraps bodies as
    {"team": {…}}) with hostile values, or any hostile JSON at all."""

    def value_for(name: str) -> st.SearchStrategy:
        if fields[name]:
            return st.fixed_dictionaries({}, optional={k: hostile_json(1) for k in fields[name]}) | hostile_json(2)
        return hostile_json(1)

    shaped = st.fixed_dictionaries({}, optional={name: value_for(name) for name in fields})
    return shaped | hostile_json(3)


@pytest.fixture
def world(admin, team, namespace):
    """One of everything an API path can name, so each operation reaches its real code."""
    from accounts.robots import robot_create
    from accounts.services import application_token_create
    from federation.trust import trust_policy_create
    from grants.services import grant_create
    from hooks.queue import ping_queue
    from hooks.services import WebhookInput, webhook_create
    from teams.models import TeamMember

    repository = make_repository(namespace)
    token, _ = application_token_create(user=admin, application="fuzz", by=admin)
    webhook, _ = webhook_create(namespace=namespace, data=WebhookInput(url="https://ci.example.org/"), by=admin)
    robot = robot_create(name="fuzz", namespace=namespace, by=admin)
    grant = grant_create(namespace=namespace, pattern="app*", permission="pull", by=admin, user=robot)
    trust = trust_policy_create(robot=robot, issuer="https://gitlab.com", audience="portus",
                                rule_text='repository == "qa/app"', by=admin)
    return {
        "robot": robot.pk, "grant": grant.pk, "trust_policy": trust.pk,
        "webhook": webhook.pk, "delivery": ping_queue(webhook=webhook, by=admin).pk,
        "id": None,  # chosen per path below
        "team": team.pk, "namespace": namespace.pk, "repository": repository.pk, "user": admin.pk,
        "registry": namespace.registry_id, "tag": repository.tags.first().pk, "token": token.pk,
        "member": TeamMember.objects.filter(team=team).exclude(user=admin).first().pk,
        "comment": None,
    }


def _fill(path: str, world: dict) -> str:
    parts = path.split("/")
    # What `{id}` names: the segment before it (/api/v1/retention/rules/namespaces/{id} is a namespace).
    kind = parts[parts.index("{id}") - 1] if "{id}" in parts else ""
    ids = {"teams": world["team"], "namespaces": world["namespace"], "repositories": world["repository"],
           "users": world["user"], "registries": world["registry"], "tags": world["tag"],
           "robots": world["robot"], "trust_policies": world["trust_policy"]}

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name == "id":
            if "application_tokens/{id}" in path:
                return str(world["token"])
            return str(ids.get(kind, 1))
        if name == "member_id":
            return str(world["member"])
        if name == "tag_id":
            return str(world["tag"])
        if name in ("webhook_id", "delivery_id", "grant_id"):
            return str(world[name.removesuffix("_id")])
        return "1"

    return _PARAM_RE.sub(one, path)


@pytest.fixture
def api(admin):
    """One authenticated client for all of a property test's examples (each would make a token)."""
    return client_for(admin)


def _check(response) -> None:
    assert response.status_code < 500, response.content[:500]
    assert len(response.content) <= MAX_ANSWER_BYTES
    if response.content:
        assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
        json.loads(response.content)


@pytest.mark.django_db
def test_the_description_lists_the_write_operations(client, admin):
    operations = _operations(client)
    paths = {path for _, path, _ in operations}
    assert {"/api/v1/teams", "/api/v1/namespaces", "/api/v1/users/bootstrap", "/api/v1/registries"} <= paths
    assert all(fields for method, path, fields in operations if path == "/api/v1/teams")


@pytest.mark.django_db
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                               HealthCheck.too_slow])
@given(data=st.data())
def test_every_api_body_answers_without_a_server_error(client, world, api, data):
    for method, path, fields in _operations(client):
        body = data.draw(_body_for(fields), label=f"{method} {path}")
        response = getattr(api, method)(_fill(path, world), data=json.dumps(body), content_type="application/json")
        _check(response)


@pytest.mark.django_db
@pytest.mark.parametrize("opening,closing", [("[", "]"), ('{"a":', "}")])
def test_deeply_nested_bodies_are_a_clear_400_on_every_write(client, world, admin, opening, closing):
    api = client_for(admin)
    body = opening * 50_000 + "1" + closing * 50_000
    for method, path, _ in _operations(client):
        for caller in (api, client):
            response = getattr(caller, method)(_fill(path, world), data=body, content_type="application/json")
            _check(response)
            if caller is api or response.status_code == 400:
                assert response.status_code == 400, (method, path, response.status_code)
                assert "message" in response.json()


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=hostile_text(), description=hostile_text())
def test_team_creation_with_hostile_names_is_refused_or_stored_intact(world, api, name, description):
    from teams.models import Team

    response = api.post("/api/v1/teams", data=json.dumps({"team": {"name": name, "description": description}}),
                        content_type="application/json")
    _check(response)
    if response.status_code == 201:
        stored = Team.objects.get(pk=response.json()["id"])
        assert (stored.name, stored.description) == (name.strip(), description.strip())
