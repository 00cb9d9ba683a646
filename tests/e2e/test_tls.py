"""TLS end to end, verification on everywhere: each client trusts the test CA only, logs in, pushes, pulls
and is refused where the policy says; without the CA it is refused by TLS itself (tests/e2e/tls_stack.py).

A push shows up through the API only after the registry's notification reached Portus over HTTPS and the
background process read the manifest over HTTPS, checking the registry's certificate with
PORTUS_REGISTRY_CA_FILE.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import requests
import yaml

from tests.e2e.conftest import PASSWORD
from tests.e2e.support.containers import Buildah, skopeo
from tests.e2e.support.docker import start_dockerd
from tests.e2e.test_registry_clients import USERS, creds, refused

UNTRUSTED = ("x509", "certificate signed by unknown authority", "certificate verify failed")


def untrusted(result) -> bool:
    """Refused by TLS: the client did not trust the certificate it was shown."""
    text = (result.stderr + result.stdout).lower()
    return result.returncode != 0 and any(word in text for word in UNTRUSTED)


@pytest.fixture(scope="module")
def alpha(tls_stack):
    return tls_stack.registries["alpha"]


@pytest.fixture(scope="module")
def pushed(tls_stack, alpha, images):
    """qa/pulled:v1, pushed by the team owner with skopeo."""
    image = images.single(tag="v1")
    skopeo("copy", "--dest-cert-dir", tls_stack.cert_dir, "--dest-creds", creds("owner"), image.ref(),
           f"docker://{alpha.ref('qa/pulled', 'v1')}", tls_verify=True)
    tls_stack.wait_for_tag("qa/pulled", "v1", image.digest)
    return image


def test_every_door_is_https_and_checks_certificates(tls_stack):
    untrusting = requests.Session()
    untrusting.trust_env = False  # the public CAs only
    for name, registry in tls_stack.registries.items():
        config = yaml.safe_load(tls_stack.registry_configs[name].read_text())
        realm = config["auth"]["token"]["realm"]
        assert realm.startswith("https://") and config["http"]["tls"]["certificate"]
        assert config["notifications"]["endpoints"][0]["url"].startswith("https://")
        challenge = tls_stack.session().get(f"{registry.url}/v2/", timeout=10)
        assert challenge.status_code == 401
        assert challenge.headers["WWW-Authenticate"].startswith(f'Bearer realm="{realm}",service="{registry.address}"')
        assert requests.get(f"http://127.0.0.1:{registry.port}/v2/", timeout=10).status_code == 400  # no plain HTTP
    for url in (*(r.url for r in tls_stack.registries.values()), tls_stack.web_url, tls_stack.direct_url):
        with pytest.raises(requests.exceptions.SSLError):
            untrusting.get(f"{url}/v2/", timeout=10)
    for base in (tls_stack.web_url, tls_stack.direct_url):
        health = tls_stack.session().get(f"{base}/api/v1/health", timeout=30,  # details are for admins
                                         headers={"Portus-Auth": f"admin:{tls_stack.admin_token}"}).json()
        assert health["registry"] == {"msg": "registry is reachable", "success": True}, health  # both, over HTTPS


@pytest.mark.parametrize("door", ["nginx", "gunicorn"])
def test_sign_in_over_tls_sets_secure_cookies_and_hsts(tls_stack, door):
    base = tls_stack.web_url if door == "nginx" else tls_stack.direct_url
    browser = tls_stack.session()
    page = browser.get(f"{base}/users/sign_in", timeout=30)
    page.raise_for_status()
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    csrf = next(c for c in browser.cookies if c.name == "csrftoken")
    assert csrf.secure
    form = {"username": "olivia", "password": PASSWORD, "csrfmiddlewaretoken": csrf.value}
    # Django takes the request for HTTPS (behind nginx, from X-Forwarded-Proto): an http:// origin is refused.
    wrong = browser.post(f"{base}/users/sign_in", data=form, allow_redirects=False, timeout=30,
                         headers={"Origin": base.replace("https://", "http://"), "Referer": f"{base}/users/sign_in"})
    assert wrong.status_code == 403
    signed_in = browser.post(f"{base}/users/sign_in", data=form, allow_redirects=False, timeout=30,
                             headers={"Origin": base, "Referer": f"{base}/users/sign_in"})
    assert signed_in.status_code == 302, signed_in.text[:500]
    session = next(c for c in browser.cookies if c.name == "sessionid")
    assert session.secure and session.has_nonstandard_attr("HttpOnly")


def test_a_browser_on_plain_http_is_sent_to_https_but_the_realm_is_not(tls_stack):
    plain = requests.Session()
    plain.trust_env = False
    page = plain.get(f"{tls_stack.backend_url}/users/sign_in", allow_redirects=False, timeout=30)
    assert page.status_code == 301 and page.headers["Location"].startswith("https://")
    assert "Strict-Transport-Security" not in page.headers  # HSTS only on HTTPS answers
    assert plain.get(f"{tls_stack.backend_url}/v2/token", timeout=30).status_code == 200  # never redirected


# --- docker --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docker(tls_stack, alpha, tmp_path_factory):
    """dockerd that trusts the test CA for alpha (certs.d) and sees it on ::1, outside the 127.0.0.0/8 it
    would take for an insecure registry and check no certificate of."""
    daemon = start_dockerd(tmp_path_factory.mktemp("dockerd-tls"), hosts={"localhost": "::1"})
    trusted = daemon.certs_dir / alpha.address
    trusted.mkdir(parents=True)
    shutil.copy(tls_stack.ca.cert, trusted / "ca.crt")
    yield daemon
    daemon.stop()


def test_docker_needs_the_ca_in_certs_d(alpha, docker):
    ca, aside = docker.certs_dir / alpha.address / "ca.crt", docker.certs_dir / "ca.crt.aside"
    ca.rename(aside)
    try:
        result = docker.docker("login", "-u", "olivia", "--password-stdin", alpha.address, input=PASSWORD,
                               check=False)
    finally:
        aside.rename(ca)
    assert untrusted(result), result


def test_docker_login_push_pull_and_refusals(tls_stack, alpha, docker, images):
    reference = alpha.ref("qa/docker", "v1")
    docker.docker("import", str(images.rootfs("docker-tls")), reference)
    docker.docker("login", "-u", "olivia", "--password-stdin", alpha.address, input=PASSWORD)
    docker.docker("push", reference)
    digest = docker.docker("image", "inspect", "--format", "{{index .RepoDigests 0}}", reference).stdout
    tls_stack.wait_for_tag("qa/docker", "v1", digest.strip().split("@", 1)[1])
    docker.docker("rmi", reference)
    docker.docker("login", "-u", "vera", "--password-stdin", alpha.address, input=PASSWORD)
    docker.docker("pull", reference)  # a viewer pulls
    docker.docker("tag", reference, alpha.ref("qa/docker", "by-viewer"))
    assert refused(docker.docker("push", alpha.ref("qa/docker", "by-viewer"), check=False))
    docker.docker("login", "-u", "oscar", "--password-stdin", alpha.address, input=PASSWORD)
    docker.docker("tag", reference, alpha.ref("qa/docker", "by-outsider"))
    assert refused(docker.docker("push", alpha.ref("qa/docker", "by-outsider"), check=False))
    docker.docker("rmi", reference)
    assert refused(docker.docker("pull", reference, check=False))
    assert set(tls_stack.tags("qa/docker")) == {"v1"}


# --- containerd's ctr --------------------------------------------------------------------------------


def _hosts_dir(folder: Path, registry, ca: Path | None) -> Path:
    host = folder / registry.address
    host.mkdir(parents=True)
    trust = f'ca = "{ca}"\n' if ca else ""
    # A [host] entry of its own: for a bare `server` on localhost, ctr falls back to plain HTTP when TLS fails.
    (host / "hosts.toml").write_text(f'server = "{registry.url}"\n{trust}\n[host."{registry.url}"]\n'
                                     f'capabilities = ["pull", "resolve", "push"]\n{trust}')
    return folder


def test_ctr_with_a_hosts_toml_ca(tls_stack, alpha, docker, pushed, tmp_path):
    trusting = _hosts_dir(tmp_path / "trusting", alpha, tls_stack.ca.cert)
    untrusting = _hosts_dir(tmp_path / "untrusting", alpha, None)
    reference = alpha.ref("qa/pulled", "v1")
    pull = ("images", "pull", "--hosts-dir")
    assert untrusted(docker.ctr(*pull, untrusting, "--user", f"vera:{PASSWORD}", reference, check=False))
    docker.ctr(*pull, trusting, "--user", f"vera:{PASSWORD}", reference)
    assert reference in docker.ctr("images", "ls", "-q").stdout
    assert refused(docker.ctr(*pull, trusting, "--user", f"oscar:{PASSWORD}", reference, check=False))
    again = alpha.ref("qa/pulled", "by-ctr")
    docker.ctr("images", "tag", reference, again)
    docker.ctr("images", "push", "--hosts-dir", trusting, "--user", f"carl:{PASSWORD}", again)
    tls_stack.wait_for_tag("qa/pulled", "by-ctr", pushed.digest)
    by_viewer = alpha.ref("qa/pulled", "by-viewer")
    docker.ctr("images", "tag", reference, by_viewer)
    refused_push = docker.ctr("images", "push", "--hosts-dir", trusting, "--user", f"vera:{PASSWORD}", by_viewer,
                              check=False)
    assert refused_push.returncode != 0 and "insufficient_scope" in refused_push.stderr
    assert "by-viewer" not in tls_stack.tags("qa/pulled")


# --- podman, skopeo, buildah -----------------------------------------------------------------------


def test_podman_with_cert_dir(tls_stack, alpha, podman, images):
    certs = ("--cert-dir", str(tls_stack.cert_dir))
    reference = alpha.ref("qa/podman", "v1")
    podman("import", str(images.rootfs("podman-tls")), reference)
    login = ("login", "--password-stdin", "-u")
    assert untrusted(podman(*login, "carl", alpha.address, input=PASSWORD, tls_verify=True, check=False))
    podman(*login, "carl", *certs, alpha.address, input=PASSWORD, tls_verify=True)
    podman("push", *certs, reference, tls_verify=True)
    digest = skopeo("inspect", "--cert-dir", tls_stack.cert_dir, "--creds", creds("viewer"), "--format",
                    "{{.Digest}}", f"docker://{reference}", tls_verify=True).stdout.strip()
    tls_stack.wait_for_tag("qa/podman", "v1", digest)
    podman("rmi", reference)
    podman(*login, "vera", *certs, alpha.address, input=PASSWORD, tls_verify=True)
    podman("pull", *certs, reference, tls_verify=True)
    podman("tag", reference, alpha.ref("qa/podman", "by-viewer"))
    assert refused(podman("push", *certs, alpha.ref("qa/podman", "by-viewer"), tls_verify=True, check=False))
    podman(*login, "oscar", *certs, alpha.address, input=PASSWORD, tls_verify=True)
    podman("rmi", reference)
    assert refused(podman("pull", *certs, reference, tls_verify=True, check=False))


def test_skopeo_with_cert_dir(tls_stack, alpha, images):
    image = images.single(tag="v1")
    target = f"docker://{alpha.ref('qa/skopeo', 'v1')}"
    certs = ("--dest-cert-dir", tls_stack.cert_dir)
    assert untrusted(skopeo("copy", "--dest-creds", creds("owner"), image.ref(), target, tls_verify=True,
                            check=False))
    skopeo("copy", *certs, "--dest-creds", creds("owner"), image.ref(), target, tls_verify=True)
    tls_stack.wait_for_tag("qa/skopeo", "v1", image.digest)
    assert refused(skopeo("copy", *certs, "--dest-creds", creds("viewer"), image.ref(),
                          f"docker://{alpha.ref('qa/skopeo', 'by-viewer')}", tls_verify=True, check=False))
    inspect = ("inspect", "--cert-dir", tls_stack.cert_dir, "--format", "{{.Digest}}")
    assert skopeo(*inspect, "--creds", creds("viewer"), target, tls_verify=True).stdout.strip() == image.digest
    assert refused(skopeo(*inspect, "--creds", creds("outsider"), target, tls_verify=True, check=False))


@pytest.fixture
def buildah():
    root = tempfile.mkdtemp(prefix="e2e-bh-")
    client = Buildah(root)
    yield client
    client.remove_all()
    shutil.rmtree(root, ignore_errors=True)


def test_buildah_with_cert_dir(tls_stack, alpha, buildah, tmp_path):
    tls = ("--tls-verify=true", "--cert-dir", str(tls_stack.cert_dir))
    container = buildah("from", "scratch").stdout.strip()
    (tmp_path / "release").write_text("built by buildah over TLS\n")
    buildah("copy", container, tmp_path / "release", "/etc/e2e-release")
    reference = alpha.ref("qa/buildah", "v1")
    buildah("commit", "-q", container, reference)
    assert untrusted(buildah("login", "--tls-verify=true", "-u", "carl", "--password-stdin", alpha.address,
                             input=PASSWORD, check=False))
    buildah("login", *tls, "-u", "carl", "--password-stdin", alpha.address, input=PASSWORD)
    buildah("push", *tls, "--digestfile", tmp_path / "digest", reference)
    tls_stack.wait_for_tag("qa/buildah", "v1", (tmp_path / "digest").read_text().strip())
    buildah("tag", reference, alpha.ref("qa/buildah", "by-viewer"))
    assert refused(buildah("push", *tls, "--creds", creds("viewer"), alpha.ref("qa/buildah", "by-viewer"),
                           check=False))
    buildah("rmi", "--force", reference)
    buildah("pull", *tls, "--creds", creds("viewer"), reference)
    buildah("rmi", "--force", reference)
    assert refused(buildah("pull", *tls, "--creds", creds("outsider"), reference, check=False))


# --- python-dxf ----------------------------------------------------------------------------------


def test_python_dxf_with_its_own_token_flow(tls_stack, alpha, images):
    """python-dxf sends Basic credentials to the realm only over HTTPS (it refuses to over plain HTTP)."""
    from dxf import DXF
    from dxf.exceptions import DXFUnauthorizedError

    image = images.single(tag="v1")

    def client(role: str, verify: bool | str = str(tls_stack.ca.cert)) -> DXF:
        user = USERS[role]
        return DXF(alpha.address, "qa/dxf", tlsverify=verify, timeout=30,
                   auth=lambda dxf, response: dxf.authenticate(user, PASSWORD, response=response))

    def blob(digest: str) -> str:
        return str(image.path / "blobs" / "sha256" / digest.split(":", 1)[1])

    with pytest.raises(requests.exceptions.SSLError):
        client("contributor", verify=True).push_blob(blob(image.config_digest))
    pusher = client("contributor")
    for digest in image.blob_digests:
        assert pusher.push_blob(blob(digest)) == digest
    pusher.set_manifest("v1", image.manifest.decode())
    tls_stack.wait_for_tag("qa/dxf", "v1", image.digest)

    reader = client("viewer")
    assert reader.get_manifest("v1").encode() == image.manifest
    assert b"".join(reader.pull_blob(image.layer_digests[0])) == Path(blob(image.layer_digests[0])).read_bytes()
    for role, action in (("viewer", "push"), ("outsider", "push"), ("outsider", "pull")):
        with pytest.raises(DXFUnauthorizedError):  # the registry's 401: the token holds no such right
            if action == "push":
                client(role).set_manifest(f"by-{role}", image.manifest.decode())
            else:
                client(role).get_manifest("v1")
    assert set(tls_stack.tags("qa/dxf")) == {"v1"}
