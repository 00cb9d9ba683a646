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
    "registry.delete": "deleted registry {target}",
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


# key → the event's name, for lists and the filter's choices ("user.disabled" → "Account disabled").
ACTIVITY_NAMES = {
    "application_token.create": "Application token created",
    "application_token.destroy": "Application token revoked",
    "application_token.new_address": "Application token used from a new address",
    "grant.change": "Repository grant changed",
    "grant.create": "Repository grant given",
    "grant.delete": "Repository grant taken away",
    "comment.create": "Comment added",
    "comment.destroy": "Comment deleted",
    "namespace.change_namespace_description": "Namespace description changed",
    "namespace.change_namespace_name": "Namespace renamed",
    "namespace.change_team": "Namespace moved to another team",
    "namespace.create": "Namespace created",
    "namespace.delete": "Namespace deleted",
    "namespace.private": "Namespace made private",
    "namespace.protected": "Namespace made protected",
    "namespace.public": "Namespace made public",
    "namespace.signing_key_add": "Signing key trusted",
    "namespace.signing_key_remove": "Signing key no longer trusted",
    "namespace.purge": "Retired namespace purged",
    "namespace.release": "Retired namespace released",
    "namespace.retire": "Namespace retired",
    "external_identity.link": "External identity linked",
    "external_identity.sign_up": "Signed up with an external identity",
    "external_identity.unlink": "External identity unlinked",
    "refresh_token.destroy": "Client signed out",
    "registry.create": "Registry added",
    "registry.update": "Registry changed",
    "registry.delete": "Registry deleted",
    "repository.change_description": "Repository description changed",
    "repository.delete": "Repository deleted",
    "repository.push": "Image pushed",
    "repository.star": "Repository starred",
    "repository.unstar": "Repository unstarred",
    "retention.dry_run": "Tag retention planned (dry run)",
    "retention.rule.create": "Retention rule set",
    "retention.rule.delete": "Retention rule removed",
    "retention.rule.update": "Retention rule changed",
    "retention.run": "Tag retention ran",
    "tag.delete": "Tag deleted",
    "robot.create": "Robot created",
    "robot.delete": "Robot deleted",
    "robot.disable": "Robot disabled",
    "robot.enable": "Robot enabled",
    "team.add_member": "Team member added",
    "team.change_member_role": "Team member's role changed",
    "team.change_team_description": "Team description changed",
    "team.change_team_name": "Team renamed",
    "team.create": "Team created",
    "team.delete": "Team deleted",
    "team.remove_member": "Team member removed",
    "team.ldap_add_member": "Team member added by LDAP",
    "team.ldap_remove_member": "Team member removed by LDAP",
    "trust_policy.create": "Trust policy created",
    "trust_policy.destroy": "Trust policy removed",
    "trust_policy.update": "Trust policy changed",
    "trust_policy.use": "Signed in with an ID token",
    "user.change_admin": "Admin rights changed",
    "user.change_display_name": "Display name changed",
    "user.change_email": "Email changed",
    "user.change_password": "Password changed",
    "user.create": "Account created",
    "user.ldap_create": "First LDAP sign-in",
    "user.ldap_admin_grant": "Admin rights given by LDAP",
    "user.ldap_admin_revoke": "Admin rights taken by LDAP",
    "user.ldap_disable": "Account disabled: gone from LDAP",
    "user.delete": "Account deleted",
    "user.disabled": "Account disabled",
    "user.enabled": "Account enabled",
    "user.recovery_code_use": "Signed in with a recovery code",
    "user.recovery_codes_regenerate": "Recovery codes renewed",
    "user.sign_in": "Signed in",
    "user.sign_in_failure": "Sign-in refused",
    "user.two_factor_add": "Second factor added",
    "user.two_factor_failure": "Wrong second step",
    "user.two_factor_remove": "Second factor removed",
    "user.two_factor_reset": "Second factors reset",
    "user.unlock": "Account unlocked",
    "webhook.create": "Webhook created",
    "webhook_event.retry": "Registry event retried",
    "webhook_event.retry_failed": "Failed registry events retried",
    "webhook.delete": "Webhook deleted",
    "webhook.update": "Webhook changed",
    "webhook.rotate_secret": "Webhook secret renewed",
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


# What each key's first part is about, in the order the event filter lists them.
ACTIVITY_GROUPS = {
    "repository": "Repositories", "tag": "Repositories", "comment": "Repositories",
    "namespace": "Namespaces", "grant": "Namespaces", "webhook": "Namespaces", "retention": "Namespaces",
    "robot": "Robots and CI", "trust_policy": "Robots and CI",
    "team": "Teams",
    "user": "Accounts", "application_token": "Accounts", "refresh_token": "Accounts", "external_identity": "Accounts",
    "registry": "Registries", "webhook_event": "Registries",
}


def activity_choices() -> list:
    """The event filter's choices: "Any event", then the known keys by human name, grouped."""
    groups: dict[str, list[tuple[str, str]]] = {label: [] for label in dict.fromkeys(ACTIVITY_GROUPS.values())}
    for key, name in ACTIVITY_NAMES.items():
        groups[ACTIVITY_GROUPS.get(key.split(".", 1)[0], "Other")].append((key, name))
    return [("", "Any event")] + [(label, sorted(items, key=lambda i: i[1])) for label, items in groups.items()
                                  if items]


@register.filter
def activity_name(key: str) -> str:
    """ "user.disabled" → "Account disabled"; an unknown key reads as itself."""
    return ACTIVITY_NAMES.get(key, key)


_TONES = (("danger", (".delete", ".destroy", ".remove", ".disabled", ".disable", "failure", ".retire", ".purge",
                      ".unlink", ".revoke", "remove_member")),
          ("success", (".create", ".add", ".enable", ".enabled", ".sign_up", ".link", "add_member", ".grant")),
          ("primary", ("repository.push",)))


@register.filter
def activity_tone(key: str) -> str:
    """The colour of an activity's mark on the timeline: red takes away, green adds, blue pushes."""
    for tone, endings in _TONES:
        if any(end in key for end in endings):
            return tone
    return "secondary"


@register.simple_tag
def timeline_days(activities) -> list[tuple[str, str, list]]:
    """The activities (newest first) by day: (ISO day, "Today" / "Yesterday" / "Mon 30 Nov 2026", items)."""
    from django.utils import timezone
    from django.utils.dateformat import format as date_format

    today = timezone.localdate()
    days: list[tuple[str, str, list]] = []
    for activity in activities:
        day = timezone.localdate(activity.created_at)
        if not days or days[-1][0] != day.isoformat():
            gap = (today - day).days
            label = "Today" if gap == 0 else "Yesterday" if gap == 1 else date_format(day, "D j M Y")
            days.append((day.isoformat(), label, []))
        days[-1][2].append(activity)
    return days
