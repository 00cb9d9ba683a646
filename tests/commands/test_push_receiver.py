"""The push bench's bare receiver (bench/push.py Receiver), fed what a registry sends and what it should
not: it notes each tag's first manifest push, ignores the rest, never fails, and stays bounded."""

from __future__ import annotations

import json

import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.push import Receiver


def _push(repository: str, tag: str) -> dict:
    return {"action": "push", "target": {"repository": repository, "tag": tag, "digest": "sha256:" + "a" * 64}}


def test_it_notes_each_tags_first_push_only():
    receiver = Receiver()
    try:
        body = json.dumps({"events": [_push("qa/app", "v1"), {"action": "pull", "target": {"tag": "v2"}},
                                      {"action": "push", "target": {"repository": "qa/app"}}]}).encode()
        receiver.note(body, 1.0)
        receiver.note(json.dumps({"events": [_push("qa/app", "v1")]}).encode(), 2.0)
        assert receiver.arrived == {("qa/app", "v1"): 1.0}
    finally:
        receiver.server.server_close()


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode())
       | st.lists(json_values, max_size=5).map(lambda events: json.dumps({"events": events}).encode()))
def test_hostile_bodies_are_ignored_without_an_error(body):
    receiver = Receiver()
    try:
        receiver.note(body, 1.0)
        assert all(isinstance(k, tuple) and len(k) == 2 for k in receiver.arrived)
    finally:
        receiver.server.server_close()


def test_it_keeps_at_most_max_tags(monkeypatch):
    monkeypatch.setattr(Receiver, "MAX_TAGS", 3)
    receiver = Receiver()
    try:
        receiver.note(json.dumps({"events": [_push("qa/app", f"t{n}") for n in range(10)]}).encode(), 1.0)
        assert len(receiver.arrived) == 3
    finally:
        receiver.server.server_close()


def test_over_http_an_oversized_body_is_refused_and_an_event_is_answered_at_once(monkeypatch):
    monkeypatch.setattr(Receiver, "MAX_BODY", 300)
    with Receiver() as receiver:
        session = requests.Session()
        session.trust_env = False
        big = session.post(f"{receiver.url}/v2/webhooks/events", data=b"x" * 301, timeout=10)
        small = session.post(f"{receiver.url}/v2/webhooks/events", timeout=10,
                             data=json.dumps({"events": [_push("a/b", "t")]}).encode())
    assert big.status_code == 413 and small.status_code == 202
    assert list(receiver.arrived) == [("a/b", "t")]
