"""Keyless CI logins: a robot's password may be an ID token from an issuer one of its trust policies names.

`docker login -u 'robot$app' -p "$ID_TOKEN"`: the token is checked like this, each step refusing with a
message that says which check failed (the robot's name is no secret, the token is the caller's own):
the signature with the issuer's published key (kid → JWKS, federation/jwks.py) under an allowed asymmetric
algorithm only (never `none` or HMAC: a public key must not become an HMAC secret), `iss` one of the
configured issuers and of the robot's enabled policies, `aud` this Portus's audience, `exp`, `nbf` and
`iat` within the leeway, and the claims against the policy's rule (federation/rules.py). Nothing is
stored for it but the policy: no secret to leak, and no refresh token is issued for such a login.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass

import jwt
from django.utils import timezone

from federation import jwks, rules
from federation.models import TrustPolicy
from portus.options import option

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
MAX_TOKEN_BYTES = 16 * 1024
MAX_LIFETIME_SECONDS = 24 * 3600  # a CI token lives minutes; one valid for days is no CI token


class Refused(Exception):
    """The token is no acceptable credential for this robot; the message is for the caller."""


@dataclass(frozen=True)
class Accepted:
    policy: TrustPolicy
    claims: dict


def looks_like_jwt(secret: str) -> bool:
    return len(secret) <= MAX_TOKEN_BYTES and secret.startswith("eyJ") and secret.count(".") == 2


def configured_issuers() -> list[str]:
    return [i.strip() for i in option("keyless.issuers").split(",") if i.strip()]


def instance_audience() -> str:
    return option("keyless.audience").strip() or f"https://{option('machine_fqdn.value')}"


def _b64json(segment: str) -> dict:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, RecursionError):  # RecursionError: JSON nested thousands deep
        raise Refused("The ID token is malformed.") from None
    if not isinstance(data, dict):
        raise Refused("The ID token is malformed.")
    return data


def unverified_parts(token: str) -> tuple[dict, dict]:
    """Header and claims, not yet trusted: only to choose the key and the policy."""
    header_segment, payload_segment, _ = token.split(".")
    return _b64json(header_segment), _b64json(payload_segment)


def check(robot, token: str, *, policies: list[TrustPolicy]) -> Accepted:
    """The policy that accepts `token` for `robot`, or Refused with the reason."""
    header, unverified = unverified_parts(token)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise Refused(f"The ID token's algorithm {str(alg)[:20]!r} is not accepted (allowed: "
                      f"{', '.join(ALGORITHMS)}).")
    issuer = unverified.get("iss")
    candidates = [p for p in policies if p.issuer == issuer]
    if not isinstance(issuer, str) or not candidates:
        raise Refused(f"No trust policy of {robot.username} accepts tokens from the issuer "
                      f"{str(issuer)[:200]!r}.")
    if issuer not in configured_issuers():
        raise Refused(f"The issuer {issuer[:200]!r} is not among this Portus's keyless.issuers.")
    kid = header.get("kid", "")
    if not isinstance(kid, str):
        raise Refused("The ID token's key id (kid) is malformed.")
    try:
        key = jwks.key_for(issuer, kid, ttl=option("keyless.jwks_cache_seconds"),
                           refetch_every=option("keyless.jwks_refetch_seconds"))
    except jwks.KeysUnavailable:
        raise Refused(f"The keys of the issuer {issuer[:200]!r} cannot be read just now; try again.") from None
    if key is None:
        raise Refused(f"The issuer {issuer[:200]!r} publishes no key with the ID token's kid.")
    if _KEY_TYPES.get(alg[:2]) != key.kty or (key.alg or alg) != alg:
        raise Refused(f"The ID token's algorithm {alg} does not fit the issuer's key {kid[:80]!r}.")
    audiences = {p.audience or instance_audience() for p in candidates}
    try:
        claims = jwt.decode(token, key=key.public_key, algorithms=[alg], audience=list(audiences), issuer=issuer,
                            leeway=option("keyless.leeway_seconds"),
                            options={"require": ["exp", "iat", "iss", "aud"], "verify_iat": True})
    except jwt.ExpiredSignatureError:
        raise Refused("The ID token has expired.") from None
    except jwt.ImmatureSignatureError:
        raise Refused("The ID token is not valid yet (nbf or iat in the future).") from None
    except jwt.InvalidAudienceError:
        raise Refused(f"The ID token is for another audience: request it for {sorted(audiences)[0]!r}.") from None
    except jwt.InvalidSignatureError:
        raise Refused("The ID token's signature does not verify with the issuer's key.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Refused(f"The ID token has no {exc.claim!r} claim.") from None
    except jwt.InvalidTokenError as exc:
        raise Refused(f"The ID token is invalid: {type(exc).__name__}.") from None
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] - claims["iat"] > MAX_LIFETIME_SECONDS:
        raise Refused("The ID token lives longer than a day: not a CI job's token.")
    audience_of = set(claims["aud"]) if isinstance(claims["aud"], list) else {claims["aud"]}
    reasons = []
    for policy in candidates:
        if (policy.audience or instance_audience()) not in audience_of:
            continue
        try:
            rule = rules.parse(policy.rules)
        except rules.RuleError:
            continue  # stored before a stricter version: never matches
        if rules.matches(rule, claims):
            return Accepted(policy, claims)
        reasons.append(rules.explain(rule, claims))
    raise Refused(f"The ID token's claims do not match the trust policies of {robot.username}: needs "
                  f"{'; or '.join(reasons)[:600] or 'a policy for this audience'}.")


def policies_of(robot) -> list[TrustPolicy]:
    return list(TrustPolicy.objects.filter(robot=robot, enabled=True)[:50])


def touch(accepted: Accepted, *, every_seconds: int = 60) -> None:
    """Marks the policy used, and records it in the audit log, at most once a minute."""
    from activities.services import activity_record

    policy, now = accepted.policy, timezone.now()
    if policy.last_used_at and (now - policy.last_used_at).total_seconds() < every_seconds:
        return
    updated = TrustPolicy.objects.filter(pk=policy.pk, last_used_at=policy.last_used_at).update(last_used_at=now)
    if updated:
        subject = str(accepted.claims.get("sub", ""))[:200]
        activity_record(key="trust_policy.use", owner=policy.robot, target=policy.robot,
                        parameters={"issuer": policy.issuer[:200], "subject": subject})


def login(username: str, secret: str, *, address: str | None):
    """The hook of accounts.credentials.verify: a Verified for an ID token given to a robot with trust
    policies, or None when this is no keyless login (then the usual checks go on)."""
    if not looks_like_jwt(secret):
        return None
    from accounts.credentials import Failure, Verified
    from accounts.models import User
    from ratelimits.services import failure_record, failure_wait

    robot = User.objects.filter(username=username[:150], bot=True).first()
    policies = policies_of(robot) if robot is not None else []
    if not policies:
        return None
    if address is not None and (wait := failure_wait(address=address)):
        return Verified(None, Failure.RATE_LIMITED, retry_after=wait)
    if not robot.enabled:
        return Verified(robot, Failure.DISABLED)
    started = time.monotonic()
    try:
        accepted = check(robot, secret, policies=policies)
    except Refused as exc:
        log.info("keyless login of %s refused: %s", robot.username, exc)
        if address is not None:
            failure_record(address=address)
        return Verified(None, Failure.INVALID, detail=str(exc))
    touch(accepted)
    log.debug("keyless login of %s in %.1f ms", robot.username, (time.monotonic() - started) * 1000)
    robot.keyless_login = True
    return Verified(robot)
