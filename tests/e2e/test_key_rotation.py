"""Rotating the token-signing key and the notification secret against the real registry, with pulls going on
all the while: trust both → sign with the new → drop the old; a new secret while the old one still works."""

from __future__ import annotations

import threading
import time
from collections import Counter

import jwt
import pytest
import requests
import yaml

from tests.e2e.conftest import PASSWORD, _running_stack
from tests.e2e.support.containers import skopeo


@pytest.fixture(scope="module")
def rotation_stack(tmp_path_factory):
    with _running_stack(tmp_path_factory, "rotation", populate=True) as running:
        yield running


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def pull_token(stack, user: str = "vera", repository: str = "qa/rot") -> str:
    response = _session().get(f"{stack.web_url}/v2/token", auth=(user, PASSWORD), timeout=10,
                              params={"service": stack.registry.address, "scope": f"repository:{repository}:pull"})
    response.raise_for_status()
    return response.json()["token"]


def kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def manifest_status(stack, token: str, reference: str = "v1") -> int:
    return _session().get(f"{stack.registry.url}/v2/qa/rot/manifests/{reference}", timeout=10,
                          headers={"Authorization": f"Bearer {token}",
                                   "Accept": "application/vnd.oci.image.manifest.v1+json"}).status_code


def signed_by_next_key(stack) -> str:
    """A token as Portus would sign it, but with the next key, before Portus signs with it."""
    from pathlib import Path

    from realm.jwt_tokens import build_claims
    from realm.keys import SigningKey

    key = Path(stack.env["PORTUS_KEY_PATH"])
    cert = Path(stack.env["PORTUS_CERTIFICATE_PATH"])
    signer = SigningKey.from_pem(key.with_name("portus.next.key").read_bytes(),
                                 cert.with_name("portus.next.crt").read_bytes())
    claims = build_claims(issuer=stack.env["PORTUS_MACHINE_FQDN"], subject="vera", audience=stack.registry.address,
                          access=[{"type": "repository", "name": "qa/rot", "actions": ["pull"]}],
                          lifetime_seconds=300)
    return signer.sign(claims)


class Puller(threading.Thread):
    """Asks Portus for a token and pulls the manifest with it, again and again, counting the answers."""

    def __init__(self, stack) -> None:
        super().__init__(daemon=True)
        self.stack, self.counts, self.halt = stack, Counter(), threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                self.counts[manifest_status(self.stack, pull_token(self.stack))] += 1
            except requests.ConnectionError:
                self.counts["registry restarting"] += 1
            time.sleep(0.05)

    def stop(self) -> Counter:
        self.halt.set()
        self.join(30)
        return self.counts


def push(stack, images, tag: str):
    image = images.single(tag=tag)
    skopeo("copy", "--dest-creds", f"carl:{PASSWORD}", image.ref(), f"docker://{stack.registry.ref('qa/rot', tag)}")
    stack.wait_for_tag("qa/rot", tag, image.digest)
    return image


def test_the_signing_key_is_rotated_without_a_refused_pull(rotation_stack, images):
    stack = rotation_stack
    push(stack, images, "v1")
    old_token = pull_token(stack)
    old_kid = kid(old_token)
    puller = Puller(stack)
    puller.start()
    try:
        # 1. The next key: Portus still signs with the old one; the registry trusts the new one after a restart.
        said = stack.manage("generate_keys", "--next").stdout
        assert "restart the registry" in said
        early = signed_by_next_key(stack)
        assert kid(early) != old_kid
        assert manifest_status(stack, early) == 401  # the registry has not read the new bundle yet
        assert kid(pull_token(stack)) == old_kid
        stack.restart_registry()
        assert manifest_status(stack, early) == 200
        assert manifest_status(stack, old_token) == 200

        # 2. Promote: the running web and background processes sign with the new key at once.
        stack.manage("generate_keys", "--promote")
        new_token = pull_token(stack)
        assert kid(new_token) == kid(early) != old_kid
        assert manifest_status(stack, new_token) == 200
        assert manifest_status(stack, old_token) == 200  # until it expires
        push(stack, images, "v2")  # the client's and the background's tokens, both of the new key
        skopeo("inspect", "--creds", f"vera:{PASSWORD}", f"docker://{stack.registry.ref('qa/rot', 'v1')}")

        # 3. Drop the old certificate (its tokens have expired in real life; here one is left over on purpose).
        stack.manage("generate_keys", "--drop-previous")
        stack.restart_registry()
        assert manifest_status(stack, old_token) == 401
        assert manifest_status(stack, pull_token(stack)) == 200
        skopeo("inspect", "--creds", f"vera:{PASSWORD}", f"docker://{stack.registry.ref('qa/rot', 'v2')}")
    finally:
        counts = puller.stop()
    print(f"pulls during the rotation: {dict(counts)}")
    assert counts[200] > 10 and set(counts) <= {200, "registry restarting"}, counts


def _secret_in(config_path) -> str:
    config = yaml.safe_load(config_path.read_text())
    return config["notifications"]["endpoints"][0]["headers"]["Authorization"][0].removeprefix("Bearer ")


def _event_status(stack, secret: str) -> int:
    return _session().post(f"{stack.web_url}/v2/webhooks/events", data=b'{"events": []}', timeout=10,
                           headers={"Authorization": f"Bearer {secret}",
                                    "Content-Type": "application/vnd.docker.distribution.events.v1+json"}).status_code


def test_a_new_notification_secret_loses_no_event(rotation_stack, images):
    stack = rotation_stack
    config = stack.registry.config_path
    first = _secret_in(config)
    rotate = ("registry_config", "--registry", "e2e", "--portus-url", stack.web_url, "--listen",
              stack.registry.address, "--storage", str(stack.root / "storage"), "--timeout", "2s", "-o", str(config))

    stack.manage(*rotate)
    second = _secret_in(config)
    assert second != first
    # The registry still runs with the first secret: its events are taken while it is restarted at leisure.
    push(stack, images, "during-rotation")
    stack.restart_registry()
    push(stack, images, "after-restart")
    assert _event_status(stack, first) == 202 and _event_status(stack, second) == 202

    # A leaked secret ends at once.
    stack.manage(*rotate, "--revoke-previous")
    third = _secret_in(config)
    assert _event_status(stack, second) == 401 and _event_status(stack, first) == 401
    stack.restart_registry()
    push(stack, images, "after-revoke")
    assert _event_status(stack, third) == 202
