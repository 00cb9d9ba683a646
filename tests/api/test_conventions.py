"""What every endpoint shares: the error format, the body limit, text checks, form bodies, CORS."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_unknown_api_path_is_a_json_404(db):
    response = APIClient().get("/api/v1/nothing/here")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found"}


def test_id_too_long_for_the_database_is_404(client_as):
    response = client_as("admin").get("/api/v1/teams/" + "9" * 30)
    assert response.status_code == 404
    assert response.json() == {"message": "Not found"}


def test_trailing_slash_is_accepted(client_as):
    assert client_as("owner").get("/api/v1/teams/").status_code == 200


def test_validation_error_names_the_field(client_as):
    response = client_as("owner").post("/api/v1/namespaces", {"team": "qa"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"message": {"name": ["This field is required."]}}


def test_nested_validation_error_names_the_nested_field(client_as):
    response = client_as("admin").post("/api/v1/users", {"user": {"username": "x"}}, format="json")
    assert response.status_code == 400
    assert set(response.json()["message"]["user"]) == {"email", "password"}


def test_malformed_json_is_400(client_as):
    response = client_as("owner").generic("POST", "/api/v1/teams", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert isinstance(response.json()["message"], str)


def test_body_that_is_not_an_object_is_400(client_as):
    response = client_as("owner").post("/api/v1/teams", ["qa"], format="json")
    assert response.status_code == 400


def test_body_over_the_limit_is_413(client_as, options):
    options.set("limits.max_body_bytes", 100)
    response = client_as("owner").post("/api/v1/teams", {"name": "x", "description": "d" * 200}, format="json")
    assert response.status_code == 413
    assert response.json() == {"message": "The request body is too large."}


def test_nul_character_is_refused_naming_the_field(client_as):
    response = client_as("owner").post("/api/v1/teams", {"name": "a\x00b"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"message": {"name": ["Text may not contain NUL characters or unpaired surrogates."]}}


def test_lone_surrogate_is_refused(client_as):
    body = '{"name": "a\\ud800b"}'
    response = client_as("owner").generic("POST", "/api/v1/teams", body, content_type="application/json")
    assert response.status_code == 400


def test_nul_in_query_is_refused(client_as):
    response = client_as("admin").get("/api/v1/namespaces/validate", {"name": "a\x00"})
    assert response.status_code == 400
    assert "name" in response.json()["message"]


def test_unknown_fields_are_ignored(client_as):
    response = client_as("owner").post("/api/v1/teams", {"name": "dev", "colour": "blue", "hidden": True},
                                       format="json")
    assert response.status_code == 201
    assert response.json()["hidden"] is False


def test_form_bodies_in_bracket_notation(client_as):
    client = client_as("admin")
    response = client.post("/api/v1/users", "user[username]=fred&user[email]=fred@example.org"
                           "&user[password]=a-long-enough-password", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.json()
    assert response.json()["username"] == "fred"


def test_flat_form_body(client_as):
    response = client_as("owner").post("/api/v1/teams", "name=forms&description=by+form",
                                       content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201
    assert response.json()["description"] == "by form"


def test_multipart_is_not_accepted(client_as):
    response = client_as("owner").post("/api/v1/teams", {"name": "multi"}, format="multipart")
    assert response.status_code == 415
    assert "message" in response.json()


def test_unexpected_error_is_a_json_500_without_details(client_as, monkeypatch):
    from api.views import teams

    def explode(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(teams, "teams_queryset", explode)
    client = client_as("owner")
    client.raise_request_exception = False
    response = client.get("/api/v1/teams")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}


class TestCors:
    def test_no_cors_headers_by_default(self, client_as):
        response = client_as("owner").get("/api/v1/teams", HTTP_ORIGIN="https://evil.example")
        assert "Access-Control-Allow-Origin" not in response

    def test_allowed_origin_gets_headers(self, client_as, options):
        options.set("cors.allowed_origins", "https://tools.example, https://other.example")
        response = client_as("owner").get("/api/v1/teams", HTTP_ORIGIN="https://tools.example")
        assert response["Access-Control-Allow-Origin"] == "https://tools.example"
        assert "Portus-Auth" in response["Access-Control-Allow-Headers"]
        assert "X-Total" in response["Access-Control-Expose-Headers"]
        assert "Origin" in response["Vary"]

    def test_other_origin_gets_nothing(self, client_as, options):
        options.set("cors.allowed_origins", "https://tools.example")
        response = client_as("owner").get("/api/v1/teams", HTTP_ORIGIN="https://evil.example")
        assert "Access-Control-Allow-Origin" not in response

    def test_preflight_needs_no_credentials(self, db, options):
        options.set("cors.allowed_origins", "https://tools.example")
        response = APIClient().options("/api/v1/teams", HTTP_ORIGIN="https://tools.example",
                                       HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
        assert response.status_code == 204
        assert response["Access-Control-Allow-Origin"] == "https://tools.example"
        assert "POST" in response["Access-Control-Allow-Methods"]

    def test_wildcard(self, client_as, options):
        options.set("cors.allowed_origins", "*")
        response = client_as("owner").get("/api/v1/teams", HTTP_ORIGIN="https://any.example")
        assert response["Access-Control-Allow-Origin"] == "*"


def test_errors_are_json_objects_with_a_message(client_as):
    for response in (client_as("viewer").get("/api/v1/users"), APIClient().get("/api/v1/users")):
        assert set(json.loads(response.content)) == {"message"}


def test_unknown_path_with_an_unsafe_method_is_a_json_404(client_as):
    from rest_framework.test import APIClient as Client

    client = Client(enforce_csrf_checks=True)
    response = client.put("/api/v1/namespaces/-1", {"namespace": {}}, format="json")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found"}
