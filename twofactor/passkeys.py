"""WebAuthn ceremonies with py_webauthn: registering a passkey, and signing in with one (as the second
step, or alone: a discoverable credential names its user).

The relying party is the host the browser is on: its id is the request's host name (Django has checked
it against `allowed_hosts`, where `machine_fqdn` always is) unless `two_factor.webauthn.rp_id` pins a
parent domain, and the expected origin is the request's scheme and host. A browser lets a page use only
its own host or a parent domain as the id, and signs the origin it is on into every answer, so a
passkey made on portus.example.org works there only. Challenges are random, kept in the session,
valid for five minutes and taken out on first use, so that no answer can be replayed."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from portus.options import option
from twofactor.models import Passkey

log = logging.getLogger("portus.twofactor")

RP_NAME = "Portus"
CHALLENGE_SECONDS = 300
TIMEOUT_MS = 120_000
# A real answer is a few kilobytes (an attestation with a certificate chain the most); anything far
# larger is refused before it is parsed.
MAX_BODY_BYTES = 64 * 1024
MAX_CREDENTIAL_ID_BYTES = 1023  # WebAuthn's own bound
MAX_PASSKEYS = 20
_KNOWN_TRANSPORTS = {t.value for t in AuthenticatorTransport}
_SESSION_KEY = "twofactor_webauthn"


class CeremonyError(ValueError):
    """A WebAuthn answer that cannot be accepted; the message is safe to show."""


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str


def relying_party(request: HttpRequest) -> RelyingParty:
    host = request.get_host()  # checked against ALLOWED_HOSTS by Django
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    pinned = (option("two_factor.webauthn.rp_id") or "").strip().lower()
    rp_id = pinned or name
    if pinned and name != pinned and not name.endswith("." + pinned):
        raise CeremonyError(f"Passkeys work on {pinned} (two_factor.webauthn.rp_id), not on {name}.")
    scheme = "https" if request.is_secure() else "http"
    return RelyingParty(id=rp_id, origin=f"{scheme}://{host}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode())


def _remember_challenge(request: HttpRequest, purpose: str, challenge: bytes, **extra) -> None:
    request.session[_SESSION_KEY] = {"purpose": purpose, "challenge": _b64(challenge), "at": time.time(), **extra}


def take_challenge(request: HttpRequest, purpose: str) -> dict:
    """The pending ceremony of `purpose`, removed from the session (single use), or CeremonyError."""
    pending = request.session.pop(_SESSION_KEY, None)
    if not isinstance(pending, dict) or pending.get("purpose") != purpose:
        raise CeremonyError("No passkey request is pending here: start again.")
    if time.time() - float(pending.get("at", 0)) > CHALLENGE_SECONDS:
        raise CeremonyError("The passkey request expired: start again.")
    pending["challenge"] = _unb64(pending["challenge"])
    return pending


def parse_body(raw: bytes) -> dict:
    """The browser's JSON answer, bounded in size and shape."""
    if len(raw) > MAX_BODY_BYTES:
        raise CeremonyError(f"The answer is larger than {MAX_BODY_BYTES} bytes.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CeremonyError("The answer is not JSON.") from None
    if not isinstance(data, dict) or not isinstance(data.get("credential"), dict):
        raise CeremonyError("The answer holds no credential.")
    return data


def _descriptors(passkeys) -> list[PublicKeyCredentialDescriptor]:
    out = []
    for passkey in passkeys:
        transports = [AuthenticatorTransport(t) for t in passkey.transports if t in _KNOWN_TRANSPORTS]
        out.append(PublicKeyCredentialDescriptor(id=bytes(passkey.credential_id), transports=transports or None))
    return out


# --- registration ---------------------------------------------------------------------------------


def registration_options(request: HttpRequest, user, user_handle: bytes) -> str:
    """The options for navigator.credentials.create(), as JSON; the challenge stays in the session."""
    rp = relying_party(request)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_name=user.username,
        user_id=user_handle,
        user_display_name=user.shown_name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(Passkey.objects.filter(user=user)),
    )
    _remember_challenge(request, "register", options.challenge, user=user.pk)
    return options_to_json(options)


@dataclass(frozen=True)
class NewPasskey:
    credential_id: bytes
    public_key: bytes
    sign_count: int
    transports: list[str]
    backed_up: bool


def registration_verify(request: HttpRequest, user, credential: dict) -> NewPasskey:
    pending = take_challenge(request, "register")
    if pending.get("user") != user.pk:
        raise CeremonyError("This passkey request belongs to another sign-in: start again.")
    rp = relying_party(request)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=pending["challenge"], expected_rp_id=rp.id,
            expected_origin=rp.origin, require_user_verification=True,
        )
    except Exception as exc:  # noqa: BLE001 - CBOR, ASN.1 and key parsing of client bytes raise many kinds
        log.info("passkey registration refused for %s: %s", user.username, type(exc).__name__)
        raise CeremonyError("The passkey could not be verified.") from None
    if len(verified.credential_id) > MAX_CREDENTIAL_ID_BYTES:
        raise CeremonyError("The passkey's id is too long.")
    response = credential.get("response")
    raw_transports = response.get("transports") if isinstance(response, dict) else None
    transports = sorted({t for t in raw_transports if isinstance(t, str) and t in _KNOWN_TRANSPORTS}) \
        if isinstance(raw_transports, list) and len(raw_transports) <= 16 else []
    return NewPasskey(credential_id=verified.credential_id, public_key=verified.credential_public_key,
                      sign_count=verified.sign_count, transports=transports,
                      backed_up=verified.credential_backed_up)


# --- authentication --------------------------------------------------------------------------------


def authentication_options(request: HttpRequest, *, purpose: str, user=None) -> str:
    """Options for navigator.credentials.get(). With a user (the second step) the browser is told which
    credentials are theirs; without one (passwordless) it offers the discoverable ones it holds."""
    rp = relying_party(request)
    allow = _descriptors(Passkey.objects.filter(user=user)) if user is not None else None
    options = generate_authentication_options(
        rp_id=rp.id, timeout=TIMEOUT_MS, allow_credentials=allow,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    _remember_challenge(request, purpose, options.challenge, user=user.pk if user is not None else None)
    return options_to_json(options)


def _credential_id(credential: dict) -> bytes:
    raw = credential.get("rawId") or credential.get("id")
    if not isinstance(raw, str) or not raw or len(raw) > 2 * MAX_CREDENTIAL_ID_BYTES:
        raise CeremonyError("The answer names no passkey.")
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (ValueError, TypeError):
        raise CeremonyError("The answer names no passkey.") from None


def authentication_verify(request: HttpRequest, credential: dict, *, purpose: str) -> Passkey:
    """The passkey that signed the challenge; its counter moves on. For the second step, it must be one
    of the pending user's; passwordless, the user is whoever owns it (and its user handle must agree)."""
    pending = take_challenge(request, purpose)
    passkey = Passkey.objects.select_related("user").filter(credential_id=_credential_id(credential)).first()
    if passkey is None or (pending.get("user") is not None and passkey.user_id != pending["user"]):
        raise CeremonyError("This passkey is not registered here.")
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if pending.get("user") is None:
        expected = bytes_to_base64url(bytes(passkey.user.twofactor.user_handle))
        presented = handle.rstrip("=").encode("utf-8", "surrogatepass") if isinstance(handle, str) else b""
        if not secrets.compare_digest(presented, expected.encode()):
            raise CeremonyError("This passkey is not registered here.")
    rp = relying_party(request)
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=pending["challenge"], expected_rp_id=rp.id,
            expected_origin=rp.origin, credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count, require_user_verification=True,
        )
    except Exception as exc:  # noqa: BLE001 - as in registration_verify
        log.info("passkey sign-in refused for %s: %s", passkey.user.username, type(exc).__name__)
        raise CeremonyError("The passkey could not be verified.") from None
    Passkey.objects.filter(pk=passkey.pk).update(sign_count=verified.new_sign_count, last_used_at=timezone.now())
    passkey.sign_count = verified.new_sign_count
    return passkey
