"""Creating, switching and removing robots' trust policies, with their audit records."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from activities.services import activity_record
from federation import rules
from federation.keyless import configured_issuers
from federation.models import TrustPolicy

MAX_POLICIES_PER_ROBOT = 20


def _clean_audience(audience: str) -> str:
    audience = (audience or "").strip()
    if len(audience) > 500 or any(ord(c) < 32 for c in audience):
        raise ValidationError({"audience": "An audience is at most 500 printable characters."})
    return audience


def validate(*, robot: User, issuer: str, audience: str, rule_text: str) -> tuple[str, str, str]:
    if not robot.bot or robot.is_internal:
        raise ValidationError({"robot": "Only robot accounts accept ID tokens."})
    issuer = (issuer or "").strip()
    if issuer not in configured_issuers():
        raise ValidationError({"issuer": "Choose one of the issuers in keyless.issuers: "
                                         + (", ".join(configured_issuers()) or "none is configured")})
    try:
        parsed = rules.parse(rule_text or "")
    except rules.RuleError as exc:
        raise ValidationError({"rules": str(exc)}) from None
    return issuer, _clean_audience(audience), rules.format_rule(parsed)


@transaction.atomic
def trust_policy_create(*, robot: User, issuer: str, audience: str, rule_text: str, by: User) -> TrustPolicy:
    issuer, audience, normalized = validate(robot=robot, issuer=issuer, audience=audience, rule_text=rule_text)
    User.objects.select_for_update().filter(pk=robot.pk).first()  # counts below are exact under concurrency
    if TrustPolicy.objects.filter(robot=robot).count() >= MAX_POLICIES_PER_ROBOT:
        raise ValidationError({"rules": f"A robot has at most {MAX_POLICIES_PER_ROBOT} trust policies."})
    policy = TrustPolicy.objects.create(robot=robot, issuer=issuer, audience=audience, rules=normalized,
                                        created_by=by)
    activity_record(key="trust_policy.create", owner=by, target=robot,
                    parameters={"issuer": issuer, "rules": normalized[:300]})
    return policy


def trust_policy_set_enabled(*, policy: TrustPolicy, enabled: bool, by: User) -> None:
    if policy.enabled == enabled:
        return
    policy.enabled = enabled
    policy.save(update_fields=["enabled"])
    activity_record(key="trust_policy.update", owner=by, target=policy.robot,
                    parameters={"issuer": policy.issuer, "enabled": enabled})


def trust_policy_delete(*, policy: TrustPolicy, by: User) -> None:
    robot, issuer = policy.robot, policy.issuer
    policy.delete()
    activity_record(key="trust_policy.destroy", owner=by, target=robot, parameters={"issuer": issuer})
