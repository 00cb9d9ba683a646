"""cosign simple-signing verification and trusted keys: the key, the bytes and the subject must all agree."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from images import signatures
from images.models import SigningKey
from images.services import signing_key_add, signing_key_remove
from tests.e2e.support.artifacts import public_pem, simple_signing_payload

DIGEST = "sha256:" + "b" * 64


def signed(key, digest=DIGEST) -> tuple[str, str]:
    payload = simple_signing_payload("registry.test/qa/app", digest)
    return base64.b64encode(payload).decode(), base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()


def test_verified_only_by_the_right_key_for_the_right_subject():
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    payload, signature = signed(key)
    trusted = [signatures.TrustedKey("other", public_pem(other)), signatures.TrustedKey("release", public_pem(key))]
    check = dict(payload_b64=payload, signature_b64=signature, subject_digest=DIGEST)
    assert signatures.verify(**check, keys=trusted) == "release"
    assert signatures.verify(**check, keys=trusted[:1]) is None
    # a valid signature of another image does not verify this one
    assert signatures.verify(payload_b64=payload, signature_b64=signature, subject_digest="sha256:" + "c" * 64,
                             keys=trusted) is None
    # a changed payload byte breaks it
    tampered = base64.b64encode(base64.b64decode(payload).replace(b"cosign", b"cosigm")).decode()
    assert signatures.verify(payload_b64=tampered, signature_b64=signature, subject_digest=DIGEST, keys=trusted) is None


@settings(max_examples=100)
@given(payload=st.text(max_size=300), signature=st.text(max_size=600))
def test_garbage_never_verifies_or_crashes(payload, signature):
    key = ec.generate_private_key(ec.SECP256R1())
    assert signatures.verify(payload_b64=payload, signature_b64=signature, subject_digest=DIGEST,
                             keys=[signatures.TrustedKey("k", public_pem(key))]) is None


@settings(max_examples=60)
@given(pem=st.text(max_size=5000))
def test_any_text_as_a_key_is_refused_cleanly(pem):
    with pytest.raises(signatures.KeyRefused):
        signatures.load_public_key(pem)


def test_only_p256_public_keys():
    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    p384 = public_pem(ec.generate_private_key(ec.SECP384R1()))
    private = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    for pem in (rsa_pem, p384, private):
        with pytest.raises(signatures.KeyRefused):
            signatures.load_public_key(pem)


@pytest.mark.django_db
def test_keys_are_managed_by_namespace_owners(namespace, owner, contributor, viewer, outsider):
    pem = public_pem(ec.generate_private_key(ec.SECP256R1()))
    for who in (contributor, viewer, outsider):
        with pytest.raises(PermissionDenied):
            signing_key_add(namespace=namespace, name="k", pem=pem, by=who)
    key = signing_key_add(namespace=namespace, name="release", pem=pem, by=owner)
    with pytest.raises(ValidationError):
        signing_key_add(namespace=namespace, name="again", pem=pem, by=owner)  # the same key twice
    with pytest.raises(ValidationError):
        signing_key_add(namespace=namespace, name="x\x00", pem=pem, by=owner)
    with pytest.raises(PermissionDenied):
        signing_key_remove(key=key, by=contributor)
    signing_key_remove(key=key, by=owner)
    assert not SigningKey.objects.exists()


@pytest.mark.django_db
def test_signing_keys_page_doors(client, namespace, owner, viewer, outsider):
    from django.test import Client

    def as_(user):
        c = Client()
        c.force_login(user, backend="accounts.backends.PortusBackend")
        return c

    url = f"/namespaces/{namespace.pk}/signing_keys"
    assert as_(outsider).get(url).status_code == 404
    assert as_(viewer).get(url).status_code == 200
    pem = public_pem(ec.generate_private_key(ec.SECP256R1()))
    assert as_(viewer).post(url, {"name": "k", "pem": pem}).status_code == 403
    response = as_(owner).post(url, {"name": "release", "pem": pem})
    assert response.status_code == 302
    assert SigningKey.objects.get().name == "release"
    bad = as_(owner).post(url, {"name": "bad", "pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"})
    assert bad.status_code == 200 and "Not a PEM public key" in bad.content.decode()


@pytest.mark.django_db
def test_signing_keys_api(namespace, owner, viewer, outsider):
    from rest_framework.test import APIClient

    def as_(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    url = f"/api/v1/namespaces/{namespace.pk}/signing_keys"
    pem = public_pem(ec.generate_private_key(ec.SECP256R1()))
    assert as_(outsider).get(url).status_code == 404
    assert as_(viewer).post(url, {"name": "k", "pem": pem}, format="json").status_code == 403
    assert as_(owner).post(url, {"name": "k", "pem": "junk"}, format="json").status_code == 422
    assert as_(owner).post(url, {"name": "k" * 500, "pem": pem}, format="json").status_code == 400
    created = as_(owner).post(url, {"name": "release", "pem": pem}, format="json")
    assert created.status_code == 201 and created.json()["name"] == "release"
    assert [k["name"] for k in as_(viewer).get(url).json()] == ["release"]
    key_url = f"{url}/{created.json()['id']}"
    assert as_(viewer).delete(key_url).status_code == 403
    assert as_(owner).delete(key_url).status_code == 204
