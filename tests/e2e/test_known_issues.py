"""The known issues of Portus's guide ("Configuring a secure private registry"), with real clients: the
worker that froze fetching a manifest after a push, and tokens that expire during long uploads."""

from __future__ import annotations

import os
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests

from tests.e2e.conftest import PASSWORD, _running_stack
from tests.e2e.support import images as builders
from tests.e2e.support.containers import skopeo
from tests.e2e.support.throttle import ThrottlingProxy

TOKEN_MINUTES = 1  # the shortest lifetime there is; the default (5) would make the test five times longer
REGISTRY_LEEWAY_SECONDS = 60  # Distribution accepts a token until a minute after its `exp` (clock skew)
UPLOAD_SECONDS = 140  # how long the layer takes over the slow link: past the lifetime and the leeway
LAYER_BYTES = 4 * 1024 * 1024  # random, so gzip cannot shrink it
PUSH_MINUTES = 10  # the remedy: registry.jwt_expiration_time_push

# The guide's worst case for the freeze: one gunicorn worker with one thread.
ONE_BY_ONE = {"workers": 1, "threads": 1}


@pytest.fixture(scope="module")
def guide_stack(tmp_path_factory):
    """One worker × one thread, registry tokens of one minute, everything else the defaults."""
    env = {"PORTUS_REGISTRY_JWT_EXPIRATION_TIME": str(TOKEN_MINUTES)}
    with _running_stack(tmp_path_factory, "guide", populate=True, env=env, **ONE_BY_ONE) as running:
        yield running


@pytest.fixture(scope="module")
def remedy_stack(tmp_path_factory):
    """The same, with the remedy: tokens that grant push live for PUSH_MINUTES."""
    env = {"PORTUS_REGISTRY_JWT_EXPIRATION_TIME": str(TOKEN_MINUTES),
           "PORTUS_REGISTRY_JWT_EXPIRATION_TIME_PUSH": str(PUSH_MINUTES)}
    with _running_stack(tmp_path_factory, "remedy", populate=True, env=env, **ONE_BY_ONE) as running:
        yield running


@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    from tests.e2e.support.docker import start_dockerd

    daemon = start_dockerd(tmp_path_factory.mktemp("known-issues-dockerd"))
    yield daemon
    daemon.stop()


def test_a_push_shows_up_with_one_worker_and_one_thread(guide_stack, images, podman):
    """Portus froze here: its only worker, answering the registry's notification, fetched the manifest from
    the registry, which asked that same busy worker for a token. Here the notification is only stored, and
    the background process mints the internal account's token in-process."""
    image = images.single(tag="one-by-one")
    reference = guide_stack.registry.ref("qa/one-by-one", "v1")
    skopeo("copy", "--dest-creds", f"carl:{PASSWORD}", image.ref(), f"docker://{reference}")
    shown, seconds = guide_stack.wait_for_tag("qa/one-by-one", "v1", image.digest)
    assert shown["size"] == image.size
    podman("login", "-u", "vera", "--password-stdin", guide_stack.registry.address, input=PASSWORD)
    podman("pull", reference)
    web_log = (guide_stack.root / "web.log").read_text()
    assert "/v2/webhooks/events" in web_log and "/v2/token" in web_log
    print(f"1 worker x 1 thread: the push is visible through the API after {seconds:.2f} s; a pull follows")


@dataclass
class SlowPush:
    client: str
    stack_label: str
    returncode: int
    seconds: float
    bytes_sent: int
    output: str

    @property
    def rate(self) -> float:
        return self.bytes_sent / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        outcome = "succeeded" if self.returncode == 0 else "FAILED"
        return (f"{self.client} push via {self.stack_label}: {outcome} after {self.seconds:.1f} s, "
                f"{self.bytes_sent} bytes sent at {self.rate:.0f} bytes/s")


@pytest.fixture(scope="module")
def big_image(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big-image")
    image = builders.write_oci_layout(folder / "layout", files={"big.bin": os.urandom(LAYER_BYTES)}, tag="slow")
    archive = folder / "layout.tar"  # for `ctr images import`
    with tarfile.open(archive, "w") as tar:
        for entry in sorted(os.listdir(image.path)):
            tar.add(image.path / entry, arcname=entry)
    return image, archive


def _ctr_push(daemon, stack, label: str, image_archive, repository: str) -> SlowPush:
    rate = LAYER_BYTES // UPLOAD_SECONDS
    with ThrottlingProxy(stack.registry.port, upload_bytes_per_second=rate) as proxy:
        base = f"{proxy.address}/{repository}"
        daemon.ctr("images", "import", "--no-unpack", "--base-name", base, str(image_archive))
        started = time.monotonic()
        result = daemon.ctr("images", "push", "--plain-http", "--user", f"carl:{PASSWORD}", f"{base}:slow",
                            check=False, timeout=UPLOAD_SECONDS * 3)
        seconds = time.monotonic() - started
        return SlowPush("ctr", label, result.returncode, seconds, proxy.bytes_up, result.stdout + result.stderr)


def _push_token(stack, repository: str) -> str:
    """A registry token for pushing to one repository, as a CI job is handed one."""
    response = requests.get(f"{stack.web_url}/v2/token", auth=("carl", PASSWORD), timeout=10,
                            params={"service": f"127.0.0.1:{stack.registry.port}",
                                    "scope": f"repository:{repository}:pull,push"})
    response.raise_for_status()
    return response.json()["token"]


def _skopeo_token_push(stack, label: str, image, repository: str) -> SlowPush:
    """skopeo given only a token (`--dest-registry-token`): it cannot ask for another one."""
    rate = LAYER_BYTES // UPLOAD_SECONDS
    with ThrottlingProxy(stack.registry.port, upload_bytes_per_second=rate) as proxy:
        started = time.monotonic()
        result = skopeo("copy", "--dest-registry-token", _push_token(stack, repository), image.ref(),
                        f"docker://{proxy.address}/{repository}:slow", check=False, timeout=UPLOAD_SECONDS * 3)
        seconds = time.monotonic() - started
        return SlowPush("skopeo --dest-registry-token", label, result.returncode, seconds, proxy.bytes_up,
                        result.stdout + result.stderr)


def _refusals(stack, user_agent: str) -> list[str]:
    """The registry's log lines that refuse an expired token to this client."""
    lines = (stack.root / "registry.log").read_text().splitlines()
    return [line for line in lines if "error authorizing context: invalid token" in line and user_agent in line]


def test_a_push_that_outlasts_its_token(guide_stack, remedy_stack, containerd, big_image):
    """Four pushes of one 4 MiB layer over links slow enough to take UPLOAD_SECONDS, at once: containerd
    (with a password) and skopeo (with only a token) against one-minute tokens, then the same with the
    remedy. The registry checks a token when a request starts, so the upload itself goes on; the request
    after it is refused."""
    image, archive = big_image
    remedy = f"jwt_expiration_time_push={PUSH_MINUTES}"
    with ThreadPoolExecutor(4) as pool:
        futures = [
            pool.submit(_ctr_push, containerd, guide_stack, "defaults", archive, "qa/slow-ctr"),
            pool.submit(_skopeo_token_push, guide_stack, "defaults", image, "qa/slow-token"),
            pool.submit(_ctr_push, containerd, remedy_stack, remedy, archive, "qa/slow-ctr"),
            pool.submit(_skopeo_token_push, remedy_stack, remedy, image, "qa/slow-token"),
        ]
        pushes = [f.result() for f in futures]
    print(f"\ntoken lifetime {TOKEN_MINUTES * 60} s (+{REGISTRY_LEEWAY_SECONDS} s registry leeway), "
          f"layer {image.layer_sizes[0]} bytes")
    for push in pushes:
        print(push.line())
        assert push.seconds > TOKEN_MINUTES * 60 + REGISTRY_LEEWAY_SECONDS, push.line()
        assert push.bytes_sent >= image.layer_sizes[0], push.line()
    ctr_default, token_default, ctr_remedy, token_remedy = pushes

    # Defaults: the registry refuses the expired token at the first request after the upload. containerd
    # logs in again with its password and gets through; a client holding only the token fails.
    refused_ctr = _refusals(guide_stack, "containerd/")
    assert refused_ctr, guide_stack.registry.log_tail(40)
    assert ctr_default.returncode == 0, ctr_default.output[-3000:]
    guide_stack.wait_for_tag("qa/slow-ctr", "slow", image.digest)
    assert token_default.returncode != 0, token_default.output[-3000:]
    assert "unauthorized" in token_default.output.lower() or "authentication required" in token_default.output
    assert _refusals(guide_stack, "skopeo/")
    assert "slow" not in guide_stack.tags("qa/slow-token")
    print(f"defaults: the registry refused containerd's expired token {len(refused_ctr)} time(s) (it logged "
          "in again); skopeo with a token failed:", token_default.output.strip().splitlines()[-1][-240:])

    # Remedy: the push's token outlives the push; nothing is refused and both pushes show up.
    assert ctr_remedy.returncode == 0, ctr_remedy.output[-3000:]
    assert token_remedy.returncode == 0, token_remedy.output[-3000:]
    assert not _refusals(remedy_stack, "containerd/") and not _refusals(remedy_stack, "skopeo/")
    remedy_stack.wait_for_tag("qa/slow-ctr", "slow", image.digest)
    remedy_stack.wait_for_tag("qa/slow-token", "slow", image.digest)
