"""How an activity reads in a list: "olivia pushed qa/app:1.0"."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

register = template.Library()

# key → what the owner did to the target ({target} is the target's name, {x} a parameter).
ACTIVITY_TEXTS = {
    "application_token.create": "created the application token “{application}” for {target}",
    "application_token.destroy": "revoked the application token “{application}” of {target}",
    "application_token.new_address": "used the application token “{application}” from a new address, {address}",
    "grant.change": "changed the grant on {pattern} to {grantee} from {before} to {permission} in {target}",
    "grant.create": "granted {permission} on {pattern} to {grantee} in {target}",
    "grant.delete": "took the {permission} grant on {pattern} away from {grantee} in {target}",
    "comment.create": "commented on {target}",
    "comment.destroy": "deleted a comment on {target}",
    "namespace.change_namespace_description": "changed the description of namespace {target}",
    "namespace.change_namespace_name": "renamed namespace {old} to {new}",
    "namespace.change_team": "moved namespace {target} from team {old} to team {new}",
    "namespace.create": "created namespace {target}",
    "namespace.delete": "deleted namespace {target}",
    "namespace.private": "made namespace {target} private",
    "namespace.protected": "made namespace {target} protected",
    "namespace.public": "made namespace {target} public",
    "namespace.signing_key_add": "trusted the signing key “{key}” in namespace {target}",
    "namespace.signing_key_remove": "stopped trusting the signing key “{key}” in namespace {target}",
    "namespace.purge": "deleted {manifests} images of the retired namespace {target} from the registry",
    "namespace.release": "released the name of the retired namespace {target}",
    "namespace.retire": "retired namespace {target} of {former_owner}: the name stays reserved, for admins only",
    "external_identity.link": "linked the {provider} identity “{login}” to {target}",
    "external_identity.sign_up": "signed up with {provider} as {target}",
    "external_identity.unlink": "unlinked the {provider} identity “{login}” from {target}",
    "refresh_token.destroy": "signed out the client “{client_id}” ({prefix}…) of {target}",
    "registry.create": "added registry {target}",
    "registry.update": "changed registry {target}",
    "repository.change_description": "changed the description of {target}",
    "repository.delete": "deleted repository {target}",
    "repository.push": "pushed {target}",
    "repository.star": "starred {target}",
    "repository.unstar": "unstarred {target}",
    "retention.dry_run": "planned tag retention {target} ({scope}, dry run): {planned} images would go, "
                         "{kept} tags kept",
    "retention.rule.create": "set the tag retention rule of {target}",
    "retention.rule.delete": "removed the tag retention rule of {target}",
    "retention.rule.update": "changed the tag retention rule of {target}",
    "retention.run": "ran tag retention {target} ({scope}): deleted {deleted} images ({tags} tags), kept {kept} tags, "
                     "{errors} errors",
    "tag.delete": "deleted tag {target}",
    "robot.create": "created the robot {robot}",
    "robot.delete": "deleted the robot {robot}",
    "robot.disable": "disabled the robot {robot}",
    "robot.enable": "enabled the robot {robot}",
    "team.add_member": "added {user} to team {target} as {role}",
    "team.change_member_role": "made {user} {new_role} in team {target}",
    "team.change_team_description": "changed the description of team {target}",
    "team.change_team_name": "renamed team {target}",
    "team.create": "created team {target}",
    "team.delete": "deleted team {target}",
    "team.remove_member": "removed {user} from team {target}",
    "team.ldap_add_member": "LDAP group sync added {user} to team {target} as {role}",
    "team.ldap_remove_member": "LDAP group sync removed {user} from team {target}",
    "trust_policy.create": "let {target} log in with ID tokens of {issuer} matching {rules}",
    "trust_policy.destroy": "removed the trust policy of {target} for {issuer}",
    "trust_policy.update": "changed the trust policy of {target} for {issuer}",
    "trust_policy.use": "{target} logged in with an ID token of {issuer} ({subject})",
    "user.change_admin": "changed the admin rights of {target}",
    "user.change_display_name": "changed the display name of {target}",
    "user.change_email": "changed the email of {target}",
    "user.change_password": "changed the password of {target}",
    "user.create": "created the account {target}",
    "user.ldap_create": "signed in from LDAP for the first time as {target}",
    "user.ldap_admin_grant": "LDAP (admin_base) made {target} an admin",
    "user.ldap_admin_revoke": "LDAP (admin_base) took the admin rights of {target}",
    "user.ldap_disable": "LDAP: the directory no longer has {target}, so the account was disabled",
    "user.delete": "deleted the account {target}",
    "user.disabled": "disabled {target}",
    "user.enabled": "enabled {target}",
    "user.recovery_code_use": "signed in with a recovery code ({left} left) from {address}",
    "user.recovery_codes_regenerate": "made new recovery codes for {target}",
    "user.sign_in": "signed in ({method}) from {address}",
    "user.sign_in_failure": "tried to sign in as {target} from {address}, refused ({reason})",
    "user.two_factor_add": "added a second factor to {target}: {factor}",
    "user.two_factor_failure": "gave a wrong second step ({kind}) for {target} from {address}",
    "user.two_factor_remove": "removed a second factor of {target}: {factor}",
    "user.two_factor_reset": "removed every second factor of {target}",
    "user.unlock": "unlocked {target}",
    "webhook.create": "created a webhook in {target}",
    "webhook_event.retry": "retried the registry event {target}",
    "webhook_event.retry_failed": "retried {count} failed registry events",
    "webhook.delete": "deleted a webhook in {target}",
    "webhook.update": "changed a webhook in {target}",
    "webhook.rotate_secret": "made a new signing secret for a webhook in {target}",
}


class _Fields(dict):
    """Missing parameters read as "?" rather than failing the page."""

    def __missing__(self, key: str) -> str:
        return "?"


_TARGET = "\x00target\x00"
# Target types whose page exists; the URL names are the browsing pages'.
_TARGET_PAGES = {"repository": "repository", "namespace": "namespace", "team": "team"}


def _target_url(activity) -> str | None:
    name = _TARGET_PAGES.get(activity.target_type)
    if name is None or activity.target_id is None or activity.key.endswith(".delete"):
        return None
    try:
        return reverse(name, args=[activity.target_id])
    except NoReverseMatch:
        return None


def _sentence(activity) -> tuple[str, str]:
    """The sentence with a marker where the target goes, and the target's name."""
    params = activity.parameters if isinstance(activity.parameters, dict) else {}
    target = activity.target_name or activity.target_type
    if activity.key == "repository.push" and params.get("tag") and ":" not in target:
        target = f"{target}:{params['tag']}"
    text = ACTIVITY_TEXTS.get(activity.key)
    if text is None:
        return f"{activity.key} {_TARGET}", target
    fields = _Fields({k: str(v).replace("\x00", "") for k, v in params.items()})
    fields["target"] = _TARGET
    if params.get("sync") is True and activity.key.endswith(".delete"):
        text += " (the catalog sync found it gone from the registry)"
    if activity.key == "tag.delete" and isinstance(params.get("retention_run"), int):
        text += " (tag retention run #{retention_run})"
    return text.format_map(fields), target


@register.filter
def activity_text(activity) -> str:
    """The owner and what they did, escaped, the target linked: <strong>olivia</strong> pushed <a>qa/app</a>."""
    owner = activity.owner.username if activity.owner_id and activity.owner else "someone"
    sentence, target = _sentence(activity)
    before, marker, after = sentence.partition(_TARGET)
    url = _target_url(activity)
    if marker and url:
        return format_html('<strong>{}</strong> {}<a href="{}">{}</a>{}', owner, before, url, target,
                           after.replace(_TARGET, target))
    return format_html("<strong>{}</strong> {}", owner, sentence.replace(_TARGET, target))
