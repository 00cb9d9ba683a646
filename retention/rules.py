"""Rules: the instance rule's defaults (Portus's `delete.garbage_collector.*`), saving, and which rule applies."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from activities.services import activity_record
from namespaces.models import Namespace, Repository
from portus.options import option
from retention import patterns
from retention.models import Rule
from retention.planner import RuleSpec

RULE_FIELDS = ("enabled", "older_than_days", "not_pulled_days", "keep_latest", "include", "protect")


def instance_defaults() -> dict[str, Any]:
    """What the instance rule starts with: Portus's garbage collector options.

    `enabled` ← delete.garbage_collector.enabled, `older_than_days` ← older_than (days since the tag was
    pushed), `keep_latest` ← keep_latest (the newest N of each repository), `include` ← tag (Portus's
    regular expression, read as globs: retention.patterns.from_portus_regex), `protect` ←
    delete.garbage_collector.protect (new: `latest` unless set otherwise)."""
    older = int(option("delete.garbage_collector.older_than"))
    return {
        "enabled": bool(option("delete.garbage_collector.enabled")),
        "older_than_days": older if older > 0 else None,
        "not_pulled_days": None,
        "keep_latest": max(0, int(option("delete.garbage_collector.keep_latest"))),
        "include": patterns.from_portus_regex(option("delete.garbage_collector.tag")),
        "protect": patterns.validate_list(option("delete.garbage_collector.protect")),
    }


def instance_rule() -> Rule:
    """The instance rule, created from the options the first time it is asked for."""
    found = Rule.objects.filter(scope=Rule.Scope.INSTANCE).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Rule.objects.create(scope=Rule.Scope.INSTANCE, **instance_defaults())
    except IntegrityError:
        return Rule.objects.get(scope=Rule.Scope.INSTANCE)


def rule_for_namespace(namespace: Namespace) -> Rule | None:
    return Rule.objects.filter(scope=Rule.Scope.NAMESPACE, namespace=namespace).first()


def rule_for_repository(repository: Repository) -> Rule | None:
    return Rule.objects.filter(scope=Rule.Scope.REPOSITORY, repository=repository).first()


def spec(rule: Rule) -> RuleSpec:
    return RuleSpec(label=rule.label, older_than_days=rule.older_than_days or None,
                    not_pulled_days=rule.not_pulled_days or None, keep_latest=rule.keep_latest or 0,
                    include=tuple(rule.include or ()), protect=tuple(rule.protect or ()))


class Resolver:
    """Which rule applies to a repository; reads every rule once (there are few)."""

    def __init__(self) -> None:
        self.instance = instance_rule()
        rules = list(Rule.objects.exclude(scope=Rule.Scope.INSTANCE).select_related("namespace", "repository",
                                                                                    "repository__namespace"))
        self.by_namespace = {r.namespace_id: r for r in rules if r.scope == Rule.Scope.NAMESPACE}
        self.by_repository = {r.repository_id: r for r in rules if r.scope == Rule.Scope.REPOSITORY}

    def rule(self, repository: Repository) -> Rule:
        return (self.by_repository.get(repository.pk) or self.by_namespace.get(repository.namespace_id)
                or self.instance)


def _clean_values(values: dict[str, Any]) -> dict[str, Any]:
    out = {k: values[k] for k in RULE_FIELDS if k in values}
    for name in ("older_than_days", "not_pulled_days"):
        if name in out and not out[name]:
            out[name] = None
    if "keep_latest" in out:
        out["keep_latest"] = out["keep_latest"] or 0
    return out


@transaction.atomic
def rule_save(*, scope: str, namespace: Namespace | None = None, repository: Repository | None = None,
              values: dict[str, Any], by) -> Rule:
    """Creates or changes the rule of a scope (the caller asked policy.can_manage_retention). Raises
    ValidationError naming the fields."""
    if scope == Rule.Scope.INSTANCE:
        rule = instance_rule()
        target = "the instance"
    elif scope == Rule.Scope.NAMESPACE:
        rule = rule_for_namespace(namespace) or Rule(scope=scope, namespace=namespace)
        target = namespace.display_name
    else:
        rule = rule_for_repository(repository) or Rule(scope=scope, repository=repository)
        target = repository.full_name
    created = rule.pk is None
    for name, value in _clean_values(values).items():
        setattr(rule, name, value)
    rule.updated_by = by
    rule.full_clean(exclude=["namespace", "repository", "updated_by"])
    rule.save()
    activity_record(key="retention.rule.create" if created else "retention.rule.update", owner=by,
                    target_type="retention_rule", target_name=target,
                    namespace=namespace or (repository.namespace if repository else None),
                    parameters={field: getattr(rule, field) for field in RULE_FIELDS})
    return rule


@transaction.atomic
def rule_delete(*, rule: Rule, by) -> None:
    """Removes a namespace or repository rule (the scope above applies again); the instance rule stays."""
    if rule.scope == Rule.Scope.INSTANCE:
        raise ValidationError("The instance rule cannot be removed; disable it instead.")
    namespace = rule.namespace or (rule.repository.namespace if rule.repository else None)
    target = rule.repository.full_name if rule.repository else (rule.namespace.display_name if rule.namespace else "")
    rule.delete()
    activity_record(key="retention.rule.delete", owner=by, target_type="retention_rule", target_name=target,
                    namespace=namespace)
