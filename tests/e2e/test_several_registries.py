"""Two real registries behind one Portus (Portus #821): each its own service name, notification secret and
global namespace; a token serves only the registry it names; rights in one never reach the other; the API
and the UI say where each namespace lives (tests/e2e/tls_stack.py has who is who)."""

from __future__ import annotations

import jwt
import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from tests.e2e.conftest import PASSWORD
from tests.e2e.support.containers import skopeo
from tests.e2e.test_registry_clients import creds, refused
from tests.e2e.tls_stack import secret_of

OCI_ACCEPT = "application/vnd.oci.image.manifest.v1+json"


def push(stack, registry: str, image, reference: str, role: str, *, check: bool = False):
    target = stack.registries[registry].ref(*reference.split(":"))
    return skopeo("copy", "--dest-cert-dir", stack.cert_dir, "--dest-creds", creds(role), image.ref(),
                  f"docker://{target}", tls_verify=True, check=check)


def pull(stack, registry: str, reference: str, role: str):
    target = stack.registries[registry].ref(*reference.split(":"))
    return skopeo("inspect", "--cert-dir", stack.cert_dir, "--creds", creds(role), "--format", "{{.Digest}}",
                  f"docker://{target}", tls_verify=True, check=False)


@pytest.fixture(scope="module")
def twins(tls_stack, images):
    """qa/app:v1 in each registry, two different images: alpha's pushed by carl (a contributor of its qa),
    beta's by vera (a contributor of beta's qa, only a viewer of alpha's)."""
    made = {"alpha": images.single(tag="v1"), "beta": images.single(tag="v1")}
    push(tls_stack, "alpha", made["alpha"], "qa/app:v1", "contributor", check=True)
    push(tls_stack, "beta", made["beta"], "qa/app:v1", "viewer", check=True)
    for name, image in made.items():
        tls_stack.wait_for_tag("qa/app", "v1", image.digest, registry=name)
    return made


def test_each_registry_is_wired_with_its_own_service_issuer_and_secret(tls_stack):
    configs = {name: yaml.safe_load(path.read_text()) for name, path in tls_stack.registry_configs.items()}
    for name, config in configs.items():
        assert config["auth"]["token"]["service"] == tls_stack.registries[name].address
        assert config["auth"]["token"]["issuer"] == "portus.e2e.test"
    secrets = {name: secret_of(path) for name, path in tls_stack.registry_configs.items()}
    assert secrets["alpha"] != secrets["beta"]
    web = tls_stack.session()
    for secret in secrets.values():
        answer = web.post(f"{tls_stack.web_url}/v2/webhooks/events", json={"events": []}, timeout=30,
                          headers={"Authorization": f"Bearer {secret}"})
        assert answer.status_code in (200, 202), answer.text
    forged = web.post(f"{tls_stack.web_url}/v2/webhooks/events", json={"events": []}, timeout=30,
                      headers={"Authorization": "Bearer " + secrets["alpha"][:-4] + "xxxx"})
    assert forged.status_code == 401


def test_a_push_to_each_lands_in_its_own_namespace(tls_stack, twins):
    for name, image in twins.items():
        assert tls_stack.tags("qa/app", registry=name)["v1"]["digest"] == image.digest
    qa = {n["registry"]["name"]: n for n in tls_stack.namespaces() if n["name"] == "qa"}
    assert set(qa) == {"alpha", "beta"}
    assert qa["alpha"]["team"]["name"] == "qa" and qa["beta"]["team"]["name"] == "qa-beta"
    assert {name: n["registry"]["hostname"] for name, n in qa.items()} == {
        name: registry.address for name, registry in tls_stack.registries.items()}


@pytest.mark.parametrize(("role", "registry", "allowed"), [
    ("contributor", "alpha", True), ("contributor", "beta", False),  # carl: qa's contributor in alpha only
    ("outsider", "beta", True), ("outsider", "alpha", False),  # oscar: owns beta's qa
    ("viewer", "beta", True), ("viewer", "alpha", False),  # vera: beta's contributor, alpha's viewer
])
def test_rights_in_one_registry_never_reach_the_other(tls_stack, twins, images, role, registry, allowed):
    tag = f"{role}-{registry}"
    result = push(tls_stack, registry, images.single(tag=tag), f"qa/app:{tag}", role)
    if allowed:
        assert result.returncode == 0, result.stderr
    else:
        assert refused(result), result
        assert tag not in tls_stack.tags("qa/app", registry=registry)


@pytest.mark.parametrize(("role", "registry", "allowed"), [
    ("viewer", "alpha", True), ("viewer", "beta", True), ("contributor", "beta", False),
    ("outsider", "alpha", False), ("outsider", "beta", True),
])
def test_pulls_follow_each_registrys_own_teams(tls_stack, twins, role, registry, allowed):
    result = pull(tls_stack, registry, "qa/app:v1", role)
    if allowed:
        assert result.stdout.strip() == twins[registry].digest
    else:
        assert refused(result), result


def _token(stack, service: str, scope: str) -> str:
    response = stack.session().get(f"{stack.direct_url}/v2/token", params={"service": service, "scope": scope},
                                   auth=("admin", PASSWORD), timeout=30)
    response.raise_for_status()
    return response.json()["token"]


def _resigned(stack, token: str, **claims) -> str:
    """The same token with other claims, signed with Portus's own key and header (kid, x5c)."""
    header = jwt.get_unverified_header(token)
    body = {**jwt.decode(token, options={"verify_signature": False}), **claims}
    key = serialization.load_pem_private_key((stack.root / "portus.key").read_bytes(), password=None)
    return jwt.encode(body, key, algorithm=header["alg"], headers={"kid": header["kid"], "x5c": header["x5c"]})


def test_a_token_is_valid_only_for_the_registry_it_names(tls_stack, twins):
    alpha, beta = tls_stack.registries["alpha"].address, tls_stack.registries["beta"].address
    client = tls_stack.session()

    def fetch(name: str, token: str) -> int:
        """GET qa/app's manifest from registry `name` with `token`: its HTTP status."""
        url = f"{tls_stack.registries[name].url}/v2/qa/app/manifests/{twins[name].digest}"
        return client.get(url, headers={"Authorization": f"Bearer {token}", "Accept": OCI_ACCEPT},
                          timeout=30).status_code

    for_alpha = _token(tls_stack, alpha, "repository:qa/app:pull")
    assert jwt.decode(for_alpha, options={"verify_signature": False})["aud"] == alpha
    assert fetch("alpha", for_alpha) == 200
    assert fetch("beta", for_alpha) == 401  # the admin may pull there too: the audience is what beta refuses
    # Controls with the real registry: the same token made out to beta passes, with another issuer it fails.
    assert fetch("beta", _resigned(tls_stack, for_alpha, aud=beta)) == 200
    assert fetch("beta", _resigned(tls_stack, for_alpha, aud=beta, iss="someone.else")) == 401
    for_beta = _token(tls_stack, beta, "repository:qa/app:pull")
    assert fetch("beta", for_beta) == 200 and fetch("alpha", for_beta) == 401


def test_each_registry_has_its_own_global_namespace(tls_stack, images):
    made = {"alpha": images.single(tag="1.0"), "beta": images.single(tag="1.0")}
    for name, image in made.items():
        assert refused(push(tls_stack, name, image, "tool:1.0", "owner"))
        push(tls_stack, name, image, "tool:1.0", "admin", check=True)
        tls_stack.wait_for_tag("tool", "1.0", image.digest, registry=name)
    globals_ = {n["registry"]["name"]: n for n in tls_stack.namespaces() if n["global"]}
    assert {name: n["name"] for name, n in globals_.items()} == {
        name: registry.address for name, registry in tls_stack.registries.items()}


def test_the_ui_says_which_registry_each_namespace_lives_in(tls_stack, twins):
    browser = tls_stack.sign_in("vera")
    listing = browser.get(f"{tls_stack.web_url}/namespaces", timeout=30).text
    assert ">Registry<" in listing
    for name, registry in tls_stack.registries.items():
        assert f'title="{registry.address}">{name}<' in listing
    beta_qa = next(n for n in tls_stack.namespaces() if n["name"] == "qa" and n["registry"]["name"] == "beta")
    page = browser.get(f"{tls_stack.web_url}/namespaces/{beta_qa['id']}", timeout=30).text
    assert f"registry beta ({tls_stack.registries['beta'].address})" in page

