"""Outbound webhooks on the real stack: skopeo pushes to the real registry, the registry notifies Portus,
the background process delivers to an HTTP server of the test's, signed as the README documents."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.support.containers import skopeo
from tests.hooks.helpers import readme_verifier
from tests.hooks.receiver import Receiver

PASSWORD = "e2e-correct-horse"


@pytest.fixture(scope="module")
def hooked(tmp_path_factory):
    """A stack whose background process may deliver to 127.0.0.2 only (webhooks.allowed_private_networks,
    set through the environment as an operator would)."""
    from tests.e2e.conftest import _running_stack

    with _running_stack(tmp_path_factory, "webhooks", populate=True,
                        env={"PORTUS_WEBHOOKS_ALLOWED_PRIVATE_NETWORKS": "127.0.0.2/32"}) as running:
        yield running


@pytest.fixture
def server():
    receiver = Receiver(host="127.0.0.2").start()
    yield receiver
    receiver.stop()


def wait_for(receiver: Receiver, count: int, stack, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.requests) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(receiver.requests)} of {count} deliveries arrived\n{stack.logs()}")
        time.sleep(0.1)


def test_a_real_push_and_delete_are_delivered_signed(hooked, server, images):
    namespace = next(n for n in hooked.api("/namespaces", params={"all": "true"}).json() if n["name"] == "qa")
    created = hooked.api(f"/namespaces/{namespace['id']}/webhooks", "POST", json={"webhook": {
        "name": "e2e", "url": server.url("/portus"), "events": ["push", "delete"]}})
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    refused = hooked.api(f"/namespaces/{namespace['id']}/webhooks", "POST", json={"webhook": {
        "url": "http://127.0.0.1:1/", "events": ["push"]}})
    assert refused.status_code == 422 and "loopback" in refused.text  # only 127.0.0.2 is allowed

    image = images.single(tag="v1")
    skopeo("copy", "--dest-creds", f"carl:{PASSWORD}", image.ref(), f"docker://{hooked.registry.ref('qa/app', 'v1')}")
    wait_for(server, 1, hooked)
    push = server.requests[0]
    payload = json.loads(push.body)
    assert payload["event"] == "push" and payload["repository"] == "qa/app" and payload["tag"] == "v1"
    assert payload["digest"] == image.digest and payload["size"] == image.size and payload["actor"] == "carl"
    assert payload["registry"] == hooked.registry.address
    assert readme_verifier()(secret, push.headers, push.body)
    assert not readme_verifier()(secret, push.headers, push.body + b" ")
    # The verified delivery, for whoever runs this with -s.
    headers = "".join(f"{k}: {v}\n" for k, v in push.headers.items())
    print(f"\nsigned delivery, verified with the secret {secret}:\n{headers}\n{push.body.decode()}")

    tag = hooked.tags("qa/app")["v1"]
    assert hooked.api(f"/tags/{tag['id']}", "DELETE").status_code == 204
    # Distribution reports a manifest delete twice: by digest, and by each tag that pointed at it.
    deadline = time.monotonic() + 30
    while sum(json.loads(r.body)["event"] == "delete" for r in server.requests) < 2:
        assert time.monotonic() < deadline, f"the deletes were not delivered\n{hooked.logs()}"
        time.sleep(0.1)
    deleted = [json.loads(r.body) for r in server.requests if json.loads(r.body)["event"] == "delete"]
    assert sorted((d["tag"], d["digest"]) for d in deleted) == [("", image.digest), ("v1", "")]
    assert all(d["repository"] == "qa/app" for d in deleted)
    assert all(readme_verifier()(secret, r.headers, r.body) for r in server.requests)

    webhook_id = created.json()["id"]
    log = hooked.api(f"/namespaces/{namespace['id']}/webhooks/{webhook_id}/deliveries").json()
    assert len(log) == len(server.requests) and {d["status"] for d in log} == {"succeeded"}
    assert {d["uuid"] for d in log} == {r.headers["X-Portus-Delivery"] for r in server.requests}
