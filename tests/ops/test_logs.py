"""Log lines that follow a push: each request's id (X-Request-Id), the token's jti, the event's id and the
registry's request id, as JSON lines when `logging.json` is on; never a token or a password."""

from __future__ import annotations

import base64
import io
import json
import logging

import jwt
import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from mirror import processing
from portus.logs import ContextFilter, JsonFormatter, PlainFormatter, log_context
from tests.webhooks.fakes import event, image


@pytest.fixture
def json_lines():
    """Every line the project's loggers write while the test runs, through the JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(name) for name in ("realm", "mirror")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_every_response_names_its_request_id(db):
    response = Client().get("/api/v1/_ping")
    assert len(response["X-Request-Id"]) == 24
    assert Client().get("/api/v1/_ping", HTTP_X_REQUEST_ID="proxy-id-0123456789")["X-Request-Id"] == (
        "proxy-id-0123456789")


@pytest.mark.parametrize("offered", ["short", "x" * 65, "a b c d e f g h", "evil\r\nSet-Cookie: x=1",
                                     "id-with-é-accent", "<script>alert(1)</script>"])
def test_a_request_id_that_does_not_look_like_one_is_replaced(db, offered):
    given = Client().get("/api/v1/_ping", HTTP_X_REQUEST_ID=offered)["X-Request-Id"]
    assert given != offered and len(given) == 24


def test_the_token_request_logs_its_request_id_and_the_jti(db, registry, admin, json_lines):
    password = "admin-password-for-logs"
    admin.set_password(password)
    admin.save()
    credentials = base64.b64encode(f"admin:{password}".encode()).decode()
    response = Client().get("/v2/token", {"service": registry.hostname, "scope": "repository:qa/app:pull,push"},
                            HTTP_AUTHORIZATION=f"Basic {credentials}", HTTP_X_REQUEST_ID="push-trail-0001")
    assert response.status_code == 200
    token = response.json()["token"]
    issued = [line for line in json_lines() if line["message"].startswith("token issued")]
    assert len(issued) == 1
    line = issued[0]
    assert line["request_id"] == "push-trail-0001" == response["X-Request-Id"]
    assert line["jti"] == jwt.decode(token, options={"verify_signature": False})["jti"]
    assert line["sub"] == "admin" and line["access"] == "repository:qa/app:pull,push"
    assert line["level"] == "INFO" and line["logger"] == "realm.token"
    text = json.dumps(json_lines())
    assert token not in text and password not in text and credentials not in text


def test_an_event_is_followed_from_its_delivery_to_its_processing(fake_registry, registry, namespace, json_lines):
    img = fake_registry.put("qa/app", image("pushed"), tag="latest")
    sent = event("push", "qa/app", digest=img.digest, tag="latest")
    response = Client().post("/v2/webhooks/events", data=json.dumps({"events": [sent]}),
                             content_type="application/vnd.docker.distribution.events.v1+json",
                             HTTP_AUTHORIZATION="Bearer test-webhook-secret")
    assert response.status_code == 202
    processing.drain()
    received = [line for line in json_lines() if line["message"].startswith("event received")]
    assert len(received) == 1
    assert received[0]["event_id"] == sent["id"] and received[0]["registry_request_id"] == sent["request"]["id"]
    assert received[0]["request_id"] == response["X-Request-Id"]  # the delivery's own request
    done = [line for line in json_lines() if line["message"].startswith("event done")]
    assert len(done) == 1
    assert done[0]["event_id"] == sent["id"] and done[0]["registry_request_id"] == sent["request"]["id"]
    assert done[0]["repository"] == "qa/app" and done[0]["tag"] == "latest" and done[0]["status"] == "done"


def test_lines_logged_while_an_event_is_processed_carry_its_ids():
    record = logging.LogRecord("mirror", logging.WARNING, __file__, 1, "registry slow: %s", ("x",), None)
    with log_context(event_id="ev-1", registry_request_id="rq-1"):
        ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["event_id"] == "ev-1" and line["registry_request_id"] == "rq-1" and line["message"] == (
        "registry slow: x")
    plain = PlainFormatter("%(levelname)s [%(request_id)s] %(message)s").format(record)
    assert plain == "WARNING [-] registry slow: x event_id=ev-1 registry_request_id=rq-1"


def test_the_json_option_picks_the_json_formatter(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = ("import django; django.setup(); import logging; "
            "logging.getLogger('portus').warning('hello %s', 'there')")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portus.settings", "PORTUS_LOGGING_JSON": "true",
           "PORTUS_DEBUG": "true", "PORTUS_VAR_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                            timeout=120)
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello there" and line["level"] == "WARNING" and "request_id" not in line


@settings(max_examples=300, deadline=None)
@given(created=st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False),
       order=st.lists(st.floats(min_value=-2.0, max_value=2.0, allow_nan=False), max_size=5))
def test_the_plain_lines_time_is_logging_s_own(created, order):
    """PlainFormatter makes a second's date and time once for its lines: the text is logging's own,
    whatever the order of the lines' times (a thread may log an older time after a newer one)."""
    ours, theirs = PlainFormatter("%(asctime)s %(message)s"), logging.Formatter("%(asctime)s %(message)s")
    for moment in [created, *(max(0.0, created + step) for step in order)]:
        record = logging.makeLogRecord({"msg": "x", "created": moment, "msecs": (moment - int(moment)) * 1000})
        assert ours.formatTime(record) == theirs.formatTime(record)
        assert ours.formatTime(record, "%Y") == theirs.formatTime(record, "%Y")
