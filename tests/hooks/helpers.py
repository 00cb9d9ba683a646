"""Shared steps of the webhook tests: a registry event processed by the mirror, the README's snippet."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mirror import processing
from tests.webhooks.fakes import event, image

README = Path(__file__).resolve().parents[2] / "README.md"


def notify(client, *events) -> None:
    response = client.post("/v2/webhooks/events", data=json.dumps({"events": list(events)}),
                           content_type="application/vnd.docker.distribution.events.v1+json",
                           HTTP_AUTHORIZATION="Bearer test-webhook-secret")
    assert response.status_code == 202


def push(client, fake_registry, name: str = "qa/app", tag: str = "latest", *, seed: str = "one",
         actor: str = "carl") -> object:
    """A tagged push reported by the registry and processed by the mirror (deliveries queued, not sent)."""
    img = fake_registry.put(name, image(seed), tag=tag)
    notify(client, event("push", name, digest=img.digest, tag=tag, actor=actor))
    processing.drain()
    return img


def readme_verifier():
    """`verify_portus_webhook` as the README prints it, executed verbatim."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- webhook-verification-snippet -->\n```python\n(.*?)```", text, re.S)
    assert found, "the README lost its verification snippet"
    scope: dict = {}
    exec(compile(found.group(1), "README.md snippet", "exec"), scope)  # noqa: S102 - our own README
    return scope["verify_portus_webhook"]
