"""What the short way does more cheaply than the code it stands for must give the same result: the
insert's parameters (mirror/inbox.py `_values` against get_db_prep_save) and the Content-Security-Policy
headers (portus/csp.py against django-csp's own middleware)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.decorators import csp_exempt, csp_update
from csp.middleware import CSPMiddleware
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirror import inbox
from mirror.event_log import event_fields
from mirror.models import Event
from portus.csp import ConstantPolicyCSPMiddleware
from tests.webhooks.fakes import EVENTS_V1, event, sha

BODIES = [
    json.dumps({"events": [event("push", "qa/app", digest=sha(b"m"), tag="v1")]}).encode(),
    json.dumps({"events": [event("pull", "qa/app", digest=sha(b"b"), media_type="application/octet-stream")]}).encode(),
    json.dumps({"events": [event("delete", "qa/app", digest=sha(b"d")), {"id": 3}, [], None, "x"]}).encode(),
    json.dumps({"events": [{"id": "\x00\ud800" * 300, "action": "push",
                            "timestamp": "2099-01-01T00:00:00Z"}]}).encode(),
    json.dumps({"events": [{"id": "t", "timestamp": "2026-01-01T00:00:00.123456789+02:00", "target": {}}]}).encode(),
    b"\xff\x00 not JSON",
    b'{"no": "events"}',
]


def _prep_save(row: Event) -> list:
    return [f.get_db_prep_save(getattr(row, f.attname), connection) for f in inbox._insert_fields()]


@pytest.mark.django_db
@pytest.mark.parametrize("authenticated", [True, False])
@pytest.mark.parametrize("body", BODIES)
def test_the_insert_parameters_are_get_db_prep_saves(registry, body, authenticated):
    rows = inbox.rows_from_body(body, content_type=EVENTS_V1, registry=registry if authenticated else None)
    assert rows
    for row in rows:
        assert inbox._values(row, connection) == _prep_save(row)


@pytest.mark.django_db
def test_values_of_other_types_go_through_get_db_prep_save(registry):
    row = inbox.rows_from_body(BODIES[0], content_type=EVENTS_V1, registry=registry)[0]
    row.attempts, row.registry_authenticated, row.tag = "7", 1, 42  # what get_prep_value turns into int, bool, str
    row.processed_at = datetime(2026, 1, 2, 3, 4, 5)  # naive: made aware, with Django's warning
    with pytest.warns(RuntimeWarning):
        expected = _prep_save(row)
    with pytest.warns(RuntimeWarning):
        assert inbox._values(row, connection) == expected


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(st.sampled_from(["id", "action", "timestamp", "target", "request", "actor"]),
                                st.one_of(st.text(max_size=40), st.integers(), st.none(),
                                          st.dictionaries(st.sampled_from(["repository", "tag", "digest",
                                                                           "mediaType", "host", "name"]),
                                                          st.text(max_size=40), max_size=4))),
                max_size=4))
def test_hostile_events_get_the_same_parameters(registry, events):
    for row in inbox.rows_from_body(json.dumps({"events": events}).encode(), content_type=EVENTS_V1,
                                    registry=registry):
        assert inbox._values(row, connection) == _prep_save(row)


@pytest.mark.django_db
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.dictionaries(st.sampled_from(["id", "action", "request", "target"]),
                    st.one_of(st.text(max_size=150), st.integers(), st.none(),
                              st.lists(st.text(max_size=5), max_size=2),
                              st.dictionaries(st.sampled_from(["id", "host", "repository"]),
                                              st.one_of(st.text(max_size=150), st.integers(), st.none()),
                                              max_size=3)), max_size=4),
    st.text(max_size=20), st.integers()), max_size=4))
def test_the_request_id_known_from_the_parse_is_the_one_in_raw(registry, events):
    """The web's log line names the registry's request id from the parse; read back out of the stored
    JSON (as the background does, and as the line did before), it is the same."""
    for row in inbox.rows_from_body(json.dumps({"events": events}).encode(), content_type=EVENTS_V1,
                                    registry=registry):
        known = event_fields(row)
        row.__dict__.pop("known_registry_request_id")
        assert known == event_fields(row)


def _view(response_setup=None, *, nonce=False):
    def view(request):
        if nonce:
            str(request.csp_nonce)
        response = HttpResponse("x")
        if response_setup:
            response = response_setup(response)
        return response
    return view


def _both(view, path="/v2/webhooks/events"):
    answers = []
    for middleware in (CSPMiddleware, ConstantPolicyCSPMiddleware):
        handler = middleware(view)
        for _ in range(2):  # the second answer comes from the policy built once
            request = RequestFactory().post(path)
            response = handler(request)
            answers.append((response.get(HEADER), response.get(HEADER_REPORT_ONLY)))
    return answers


UPDATED = csp_update({"img-src": "https://example.test"})(lambda request: HttpResponse("x"))
EXEMPT = csp_exempt()(lambda request: HttpResponse("x"))


@pytest.mark.parametrize("view", [_view(), _view(nonce=True), UPDATED, EXEMPT,
                                  _view(lambda r: (r.__setitem__(HEADER, "default-src 'none'"), r)[1])],
                         ids=["plain", "nonce", "updated", "exempt", "set by the view"])
def test_the_constant_policy_is_django_csps(view):
    answers = _both(view)
    assert answers[0][0] is not None or view is EXEMPT
    for ours, theirs in zip(answers[2:], answers[:2], strict=True):
        assert (ours[0] is None) == (theirs[0] is None)
        if ours[0] and "nonce" in ours[0]:
            assert ours[0].split("'nonce-")[0] == theirs[0].split("'nonce-")[0]
        else:
            assert ours == theirs


def test_a_changed_setting_is_followed():
    handler = ConstantPolicyCSPMiddleware(_view())
    before = handler(RequestFactory().post("/x"))[HEADER]
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'none'"]}},
                           CONTENT_SECURITY_POLICY_REPORT_ONLY={"DIRECTIVES": {"img-src": ["'self'"]}}):
        response = handler(RequestFactory().post("/x"))
        assert response[HEADER] == "default-src 'none'"
        assert "img-src 'self'" in response[HEADER_REPORT_ONLY]
        assert _both(_view(), "/x")[0] == _both(_view(), "/x")[3]
    assert handler(RequestFactory().post("/x"))[HEADER] == before
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'self'"]},
                                                    "EXCLUDE_URL_PREFIXES": ["/x"]}):
        assert HEADER not in handler(RequestFactory().post("/x/y"))
        assert HEADER in handler(RequestFactory().post("/z"))


def test_the_nonce_cannot_be_used_after_the_header_is_written():
    from csp.exceptions import CSPNonceError

    request = RequestFactory().post("/x")
    ConstantPolicyCSPMiddleware(_view())(request)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def _same_event(ours: Event, theirs: Event) -> None:
    assert type(ours) is Event
    mine = {k: v for k, v in vars(ours).items() if k != "_state"}
    assert mine == {k: v for k, v in vars(theirs).items() if k != "_state"}
    assert [type(v) for v in mine.values()] == [type(v) for k, v in vars(theirs).items() if k != "_state"]
    assert vars(ours._state) == vars(theirs._state)


@pytest.mark.django_db
@pytest.mark.parametrize("with_registry", [True, False])
def test_new_event_is_models_init(registry, with_registry):
    values = dict(event_id="e", registry_authenticated=with_registry, action="push", repository="qa/app",
                  timestamp=datetime(2026, 1, 1).astimezone(), raw="{}", status=Event.Status.PENDING,
                  received_at=datetime(2026, 1, 1).astimezone(), next_attempt_at=datetime(2026, 1, 1).astimezone())
    owner = registry if with_registry else None
    assert inbox._event_defaults() is not None  # the short way is taken
    _same_event(inbox.new_event(registry=owner, **values), Event(registry=owner, **values))
    ours = inbox.new_event(registry=owner, **values)
    ours.save()
    assert Event.objects.get(pk=ours.pk).registry == owner


@pytest.mark.django_db
def test_new_event_refuses_what_model_init_refuses(registry):
    with pytest.raises(ValueError, match="must be a \"Registry\" instance"):
        inbox.new_event(registry="not a registry", event_id="e")
    with pytest.raises(TypeError):
        inbox.new_event(registry=None, no_such_field=1)
