"""Adding and changing registries, and checking that one is reachable."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from activities.services import activity_record
from portus.options import option, registry_tls_verify
from registries.models import NOTIFICATION_SECRET_PREFIX, Registry
from registries.signals import registry_created

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*(?::\d{{1,5}})?$|^\[[0-9a-fA-F:]+\](?::\d{{1,5}})?$")


# How long the previous notification secret is still accepted after a rotation: time to give the registry
# its new configuration and restart it. A refused delivery is retried by the registry forever and holds up
# every later event, so a rotation must not refuse the old secret the moment the new one exists.
NOTIFICATION_SECRET_OVERLAP = timedelta(hours=24)


@dataclass
class Reachability:
    ok: bool
    message: str


def validate_hostname(value: str, field: str = "hostname") -> str:
    value = (value or "").strip().lower()
    if not value or len(value) > 255 or not HOST_RE.match(value):
        raise ValidationError({field: "Give a host name with an optional port, e.g. registry.example.org:5000."})
    return value


def registry_check(*, hostname: str, use_ssl: bool) -> Reachability:
    """Is a Distribution registry answering at hostname? (`/v2/` with its API version header)."""
    url = f"{'https' if use_ssl else 'http'}://{hostname}/v2/"
    try:
        response = requests.get(
            url,
            timeout=(option("registry.timeout.value"), option("registry.timeout.value") * 2),
            verify=registry_tls_verify(),
            allow_redirects=False,
        )
    except requests.exceptions.SSLError as exc:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return Reachability(False, f"{url}: its TLS certificate is not trusted here. If a CA of your own "
                                       "signed it, set registry.ca_file (PORTUS_REGISTRY_CA_FILE) to that CA.")
        return Reachability(False, f"TLS error talking to {url}: {exc.__class__.__name__}. "
                                   "Is the registry served over plain HTTP (use_ssl off)?")
    except requests.RequestException as exc:
        return Reachability(False, f"{url} is not reachable: {exc.__class__.__name__}.")
    version = response.headers.get("Docker-Distribution-Api-Version", "")
    if response.status_code in (200, 401) and version.startswith("registry/2.0"):
        return Reachability(True, f"{url} answered {response.status_code} ({version}).")
    return Reachability(False, f"{url} answered {response.status_code} without the "
                               "Docker-Distribution-Api-Version header: not a registry.")


@transaction.atomic
def registry_create(
    *, name: str, hostname: str, use_ssl: bool, by: User | None, external_hostname: str = "",
    check: bool = True,
) -> Registry:
    """Adds a registry, its global namespace and every user's personal namespace in it."""
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise ValidationError({"name": "Name the registry."})
    hostname = validate_hostname(hostname)
    external_hostname = validate_hostname(external_hostname, "external_hostname") if external_hostname else ""
    if Registry.objects.filter(name=name).exists():
        raise ValidationError({"name": "A registry with this name already exists."})
    if Registry.objects.filter(hostname=hostname).exists():
        raise ValidationError({"hostname": "A registry with this host name already exists."})
    if check:
        result = registry_check(hostname=hostname, use_ssl=use_ssl)
        if not result.ok:
            raise ValidationError({"hostname": result.message})
    registry = Registry.objects.create(name=name, hostname=hostname, use_ssl=use_ssl,
                                       external_hostname=external_hostname)
    registry_created.send(sender=Registry, registry=registry)
    activity_record(key="registry.create", owner=by, target=registry, parameters={"hostname": hostname})
    return registry


@transaction.atomic
def registry_update(
    *, registry: Registry, by: User | None, name: str | None = None, hostname: str | None = None,
    use_ssl: bool | None = None, external_hostname: str | None = None, check: bool = True,
) -> Registry:
    if name is not None:
        name = name.strip()
        if not name or Registry.objects.filter(name=name).exclude(pk=registry.pk).exists():
            raise ValidationError({"name": "Give a name no other registry has."})
        registry.name = name
    if hostname is not None:
        hostname = validate_hostname(hostname)
        if Registry.objects.filter(hostname=hostname).exclude(pk=registry.pk).exists():
            raise ValidationError({"hostname": "A registry with this host name already exists."})
        registry.hostname = hostname
    if external_hostname is not None:
        registry.external_hostname = (
            validate_hostname(external_hostname, "external_hostname") if external_hostname else ""
        )
    if use_ssl is not None:
        registry.use_ssl = use_ssl
    if check and (hostname is not None or use_ssl is not None):
        result = registry_check(hostname=registry.hostname, use_ssl=registry.use_ssl)
        if not result.ok:
            raise ValidationError({"hostname": result.message})
    registry.save()
    activity_record(key="registry.update", owner=by, target=registry)
    return registry


@dataclass(frozen=True)
class NewNotificationSecret:
    """A freshly made notification secret: `plain` is shown this once and stored nowhere."""

    registry: Registry
    plain: str
    previous_valid_until: datetime | None


@transaction.atomic
def registry_notification_secret_rotate(
    *, registry: Registry, by: User | None, keep_previous: bool = True, now: datetime | None = None,
) -> NewNotificationSecret:
    """Gives the registry a new notification secret. The current one stays valid for
    NOTIFICATION_SECRET_OVERLAP (unless `keep_previous` is False: it leaked), an older one not at all."""
    now = now or timezone.now()
    registry = Registry.objects.select_for_update().get(pk=registry.pk)
    plain = f"{NOTIFICATION_SECRET_PREFIX}_{secrets.token_urlsafe(32)}"
    if keep_previous and registry.notification_secret_digest:
        registry.previous_notification_secret_digest = registry.notification_secret_digest
        registry.previous_notification_secret_until = now + NOTIFICATION_SECRET_OVERLAP
    else:
        registry.previous_notification_secret_digest = ""
        registry.previous_notification_secret_until = None
    registry.notification_secret_digest = Registry.hash_notification_secret(plain)
    registry.notification_secret_prefix = plain[: len(NOTIFICATION_SECRET_PREFIX) + 8]
    registry.notification_secret_rotated_at = now
    registry.save(update_fields=["notification_secret_digest", "notification_secret_prefix",
                                 "notification_secret_rotated_at", "previous_notification_secret_digest",
                                 "previous_notification_secret_until", "updated_at"])
    activity_record(key="registry.update", owner=by, target=registry,
                    parameters={"changed": "notification_secret", "prefix": registry.notification_secret_prefix,
                                "kept_previous": keep_previous})
    return NewNotificationSecret(registry=registry, plain=plain,
                                 previous_valid_until=registry.previous_notification_secret_until)


# How many dependent namespaces a refusal names (the rest are counted).
DEPENDENTS_NAMED = 5


def registry_dependents(registry: Registry) -> tuple[int, list[str]]:
    """The namespaces that keep the registry from being deleted: (how many, the first names).

    Each registry gets a global namespace and every user a personal one in it (registry_created): while
    nobody put anything in them, those go with the registry. Every team's, retired or push-created
    namespace depends on it, and any that holds repositories, robots, webhooks or grants (which would
    go with it)."""
    from django.db.models import F, Q, Value
    from django.db.models.functions import Concat

    automatic = Q(is_global=True) | Q(team__personal_of__isnull=False,
                                      team__name=Concat(Value("personal/"), F("name")))
    holds = (Q(repositories__isnull=False) | Q(robots__isnull=False) | Q(webhooks__isnull=False)
             | Q(grants__isnull=False))
    dependents = registry.namespaces.filter(~automatic | holds).distinct()
    count = dependents.count()
    names = [name or f"{registry.reference_host} (global)"
             for name in dependents.order_by("name").values_list("name", flat=True)[:DEPENDENTS_NAMED]]
    return count, names


@transaction.atomic
def registry_delete(*, registry: Registry, by: User | None) -> None:
    """Forgets a registry that nothing depends on any more, with its automatic namespaces and the refresh
    tokens minted for it. The registry itself and its storage are not touched."""
    registry = Registry.objects.select_for_update().get(pk=registry.pk)
    count, names = registry_dependents(registry)
    if count:
        more = f" and {count - len(names)} more" if count > len(names) else ""
        raise ValidationError({"registry": (
            f"{count} namespace{'s' if count != 1 else ''} of this registry still depend{'s' if count == 1 else ''} "
            f"on it: {', '.join(names)}{more}. Delete those namespaces first (or, for personal and global ones, "
            "their repositories, robots, webhooks and grants); empty personal and global namespaces go with "
            "the registry.")})
    activity_record(key="registry.delete", owner=by, target_type="registry", target_name=registry.name,
                    parameters={"hostname": registry.hostname})
    pk = registry.pk
    registry.delete()
    # The registry's hidden team (it held the global namespace, now gone with the registry).
    from teams.models import Team

    Team.objects.filter(name=f"global/{pk}", hidden=True, namespaces__isnull=True).delete()
