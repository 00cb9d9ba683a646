"""Signing keys: libtrust IDs, generated key pairs, and tokens that verify with the certificate."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID
from hypothesis import given, settings
from hypothesis import strategies as st

from realm.keys import (
    SigningKey,
    clear_signing_key_cache,
    generate_key_and_certificate,
    libtrust_key_id,
    write_key_pair,
)

# RFC 7638 §3.1 (the RFC 7517 example key); checked below against the RFC's thumbprint.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n"
    "3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdA"
    "ZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
    "kEgU8awapJzKnqDKgw"
)
RFC7638_E = "AQAB"


def _b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def test_rfc7638_key_has_the_known_libtrust_id():
    # The RFC's own thumbprint first, to prove the key above was copied right.
    canonical = json.dumps({"e": RFC7638_E, "kty": "RSA", "n": RFC7638_N}, separators=(",", ":"))
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    assert thumbprint == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    public_key = rsa.RSAPublicNumbers(_b64url_int(RFC7638_E), _b64url_int(RFC7638_N)).public_key()
    assert libtrust_key_id(public_key) == "VUZD:EDHW:YWLN:RBFQ:KOA3:UVZ2:XKG5:2V2J:WTPI:6SRD:U6PZ:VCO5"


@pytest.fixture(scope="module", params=["rsa", "ec"])
def key_pair(request, tmp_path_factory) -> tuple[str, object, object]:
    folder = tmp_path_factory.mktemp(f"keys-{request.param}")
    key_path, cert_path = folder / "portus.key", folder / "portus.crt"
    write_key_pair(key_path, cert_path, "portus.test.lan:3000", key_type=request.param, rsa_bits=2048)
    return request.param, key_path, cert_path


def test_written_files(key_pair):
    key_type, key_path, cert_path = key_pair
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert cert.subject.rfc4514_string() == "CN=portus.test.lan:3000"
    assert cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca is True
    usage = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    assert usage.digital_signature and usage.key_cert_sign
    san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    assert san.get_values_for_type(x509.DNSName) == ["portus.test.lan"]
    expected = rsa.RSAPublicKey if key_type == "rsa" else ec.EllipticCurvePublicKey
    assert isinstance(cert.public_key(), expected)


def test_signed_token_verifies_with_the_certificate(key_pair):
    key_type, key_path, cert_path = key_pair
    signer = SigningKey.load(key_path, cert_path)
    assert signer.algorithm == ("RS256" if key_type == "rsa" else "ES256")
    claims = {
        "iss": "portus.test.lan",
        "sub": "alice",
        "aud": "registry.test.lan:5000",
        "exp": 2**31 - 1,
        "access": [{"type": "repository", "name": "a/b", "actions": ["pull"]}],
    }
    token = signer.sign(claims)

    header = jwt.get_unverified_header(token)
    assert header["alg"] == signer.algorithm and header["typ"] == "JWT"
    assert header["kid"] == signer.kid == libtrust_key_id(signer.public_key)
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert header["x5c"] == signer.x5c
    assert x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0])) == certificate
    assert libtrust_key_id(certificate.public_key()) == header["kid"]

    decoded = jwt.decode(
        token, certificate.public_key(), algorithms=[signer.algorithm], audience="registry.test.lan:5000"
    )
    assert decoded == claims
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, certificate.public_key(), algorithms=[signer.algorithm], audience="other")


@settings(max_examples=60, deadline=None)
@given(claims=st.fixed_dictionaries({
    "iss": st.text(max_size=40), "sub": st.text(max_size=40), "aud": st.text(max_size=40),
    "exp": st.integers(0, 2**53), "nbf": st.integers(0, 2**53), "iat": st.integers(0, 2**53),
    "jti": st.text(max_size=40),
    "access": st.lists(st.fixed_dictionaries({
        "type": st.sampled_from(["repository", "registry"]), "name": st.text(max_size=60),
        "actions": st.lists(st.sampled_from(["pull", "push", "*", "delete"]), max_size=4)}), max_size=4),
}))
def test_a_token_is_what_pyjwt_itself_makes_of_the_same_claims(rsa_signer, claims):
    """RS256 signatures are deterministic: the pre-encoded header and PyJWT's algorithm object give PyJWT's
    own token, byte for byte, for any claims (odd unicode in every string included)."""
    signer, private_key = rsa_signer
    expected = jwt.encode(claims, private_key, algorithm="RS256",
                          headers={"kid": signer.kid, "x5c": list(signer.x5c), "typ": "JWT"})
    assert signer.sign(claims) == expected


def test_an_ec_token_has_pyjwts_header_and_verifies(key_pair):
    key_type, key_path, cert_path = key_pair
    signer = SigningKey.load(key_path, cert_path)
    private_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    claims = {"iss": "portus.test.lan", "aud": "r:5000", "exp": 2**31 - 1, "access": []}
    token, theirs = signer.sign(claims), jwt.encode(claims, private_key, algorithm=signer.algorithm,
                                                    headers={"kid": signer.kid, "x5c": list(signer.x5c), "typ": "JWT"})
    assert token.split(".")[:2] == theirs.split(".")[:2]
    assert jwt.decode(token, signer.public_key, algorithms=[signer.algorithm], audience="r:5000") == claims
    with pytest.raises(TypeError, match="Issuer"):
        signer.sign({**claims, "iss": 5})


@pytest.fixture(scope="module")
def rsa_signer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys-rsa-pyjwt")
    write_key_pair(folder / "k", folder / "c", "portus.test.lan", rsa_bits=2048)
    signer = SigningKey.load(folder / "k", folder / "c")
    return signer, serialization.load_pem_private_key((folder / "k").read_bytes(), password=None)


def test_load_parses_once_and_again_when_a_file_changes(key_pair, tmp_path):
    _, key_path, cert_path = key_pair
    first = SigningKey.load(key_path, cert_path)
    assert SigningKey.load(str(key_path), str(cert_path)) is first

    copy_key, copy_cert = tmp_path / "k.pem", tmp_path / "c.pem"
    copy_key.write_bytes(key_path.read_bytes())
    copy_cert.write_bytes(cert_path.read_bytes())
    copied = SigningKey.load(copy_key, copy_cert)
    assert copied is not first and copied.kid == first.kid
    write_key_pair(copy_key, copy_cert, "rotated.test.lan", key_type="ec", overwrite=True)
    rotated = SigningKey.load(copy_key, copy_cert)
    assert rotated is not copied and rotated.kid != first.kid
    clear_signing_key_cache()
    assert SigningKey.load(key_path, cert_path) is not first


def test_chain_in_the_certificate_file_goes_into_x5c(key_pair, tmp_path):
    _, key_path, cert_path = key_pair
    _, other_cert = generate_key_and_certificate("intermediate.test.lan", key_type="ec")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(cert_path.read_bytes() + other_cert)
    signer = SigningKey.load(key_path, bundle)
    assert len(signer.x5c) == 2 and len(signer.chain) == 1
    assert jwt.get_unverified_header(signer.sign({"a": 1}))["x5c"] == signer.x5c


def test_mismatched_key_and_certificate_are_refused(key_pair, tmp_path):
    _, key_path, _ = key_pair
    _, other_cert = generate_key_and_certificate("other.test.lan", key_type="ec")
    cert_path = tmp_path / "other.crt"
    cert_path.write_bytes(other_cert)
    with pytest.raises(ValueError, match="does not match"):
        SigningKey.load(key_path, cert_path)


def test_garbage_files_are_refused(key_pair, tmp_path):
    _, key_path, cert_path = key_pair
    junk = tmp_path / "junk.pem"
    junk.write_text("not a pem")
    with pytest.raises(ValueError, match="private key"):
        SigningKey.load(junk, cert_path)
    with pytest.raises(ValueError, match="certificate"):
        SigningKey.load(key_path, junk)
    encrypted = tmp_path / "encrypted.pem"
    private = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    encrypted.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(ValueError, match="unencrypted"):
        SigningKey.load(encrypted, cert_path)


def test_write_key_pair_refuses_to_overwrite(tmp_path):
    key_path, cert_path = tmp_path / "sub" / "k.pem", tmp_path / "sub" / "c.pem"
    write_key_pair(key_path, cert_path, "a.test.lan", key_type="ec")
    before = key_path.read_bytes()
    with pytest.raises(FileExistsError):
        write_key_pair(key_path, cert_path, "a.test.lan", key_type="ec")
    cert_path.unlink()
    with pytest.raises(FileExistsError):
        write_key_pair(key_path, cert_path, "a.test.lan", key_type="ec")
    assert key_path.read_bytes() == before
    os.chmod(key_path, 0o644)
    write_key_pair(key_path, cert_path, "a.test.lan", key_type="ec", overwrite=True)
    assert key_path.read_bytes() != before
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600


def test_generate_rejects_unknown_key_types():
    with pytest.raises(ValueError):
        generate_key_and_certificate("a.test.lan", key_type="dsa")


def test_ip_common_name_gets_an_ip_san():
    _, cert_pem = generate_key_and_certificate("10.0.0.5", key_type="ec")
    san = x509.load_pem_x509_certificate(cert_pem).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]


@pytest.mark.parametrize("raw", ["var/portus.key", "/etc/portus/key.pem", "../keys/k.pem", "./a//b/../k.pem"])
def test_the_token_endpoint_finds_the_key_files_where_the_options_name_them(settings, raw):
    from portus.options import data_path
    from realm.token import _absolute

    assert _absolute(settings.BASE_DIR, raw) == os.path.abspath(data_path(raw))
