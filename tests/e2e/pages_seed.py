"""Data for the every-page browser test: the longest names the service accepts, and one of each thing a page
shows (a webhook with a delivery, a robot with a trust policy, a grant, a signing key, retention rules and a
run, tokens and clients), so that every page has something to lay out."""

from __future__ import annotations

import re

NAME_CHARS = re.compile(r"[a-z0-9]")


def _exactly(text: str, length: int) -> str:
    """`text` repeated and cut to `length` characters, ending on a letter or digit (a valid name)."""
    value = (text * (length // len(text) + 1))[:length]
    while not NAME_CHARS.fullmatch(value[-1]):
        value = value[:-1] + "x"
    return value


# 64 characters, the longest user name (accounts.models.USERNAME_MAX), with every separator a name may hold.
LONG_USER = _exactly("maximiliane.alexandra-von-hohenzollern_sigmaringen-", 64)
# 100 characters, the longest team name (teams.services.validate_team_name), without a space to wrap at.
LONG_TEAM = _exactly("release-engineering.infrastructure_operations-payments-checkout-storefront-", 100)
# A team namespace of 64 characters.
LONG_NAMESPACE = _exactly("release-engineering.infrastructure_operations-", 64)
TOTP_USER = "tessa"
LONG_TAG = _exactly("release-2026.12.02_build-", 128)
PASSWORD = "Pages-browser-passphrase-42"


def long_repository(host: str) -> str:
    """A path in the long user's namespace whose reference, the registry's host in front, is 255 characters:
    the longest name the registry and its clients take (the repository's own path is then 255 less the host)."""
    rest = 255 - len(host) - 1 - len(LONG_USER) - 1
    parts, made = [], 0
    words = ("payments-gateway", "checkout.service", "storefront_api", "edge-proxy", "build.cache", "tools")
    i = 0
    while made < rest:
        word = words[i % len(words)]
        i += 1
        parts.append(word)
        made = len("/".join(parts))
    path = "/".join(parts)[:rest]
    path = path.rstrip("/.-_")
    path = path + "z" * (rest - len(path))
    return f"{LONG_USER}/{path}"


# Run with `manage.py shell -c`: makes everything but the pushed image, prints the ids as JSON after "SEED".
SEED_SCRIPT = r"""
import json
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from accounts.robots import robot_create
from accounts.services import application_token_create, refresh_token_create, user_create
from federation.models import TrustPolicy
from grants.services import grant_create
from hooks.models import Delivery
from hooks.services import WebhookInput, webhook_create
from images.services import signing_key_add
from namespaces.models import Namespace
from namespaces.services import namespace_create
from registries.models import Registry
from retention.rules import rule_save
from retention.runs import run_create
from teams.models import Role
from teams.services import team_create, team_member_add
from twofactor.services import totp_begin
from twofactor.models import TotpDevice

registry = Registry.objects.get()
pw = {password!r}
long_user = user_create(username={long_user!r}, email={long_user!r} + "@example.org", password=pw, admin=True,
                        check_password=False)
olivia, carl = User.objects.get(username="olivia"), User.objects.get(username="carl")
team = team_create(name={long_team!r}, owner=long_user,
                   description="The team with the **longest** name a team may have.")
team_member_add(team=team, user=olivia, role=Role.CONTRIBUTOR, by=long_user)
team_member_add(team=team, user=carl, role=Role.VIEWER, by=long_user)
namespace = namespace_create(name={long_namespace!r}, team=team, by=long_user, registry=registry,
                             description="A team namespace of 64 characters.")
webhook, _ = webhook_create(namespace=namespace, by=long_user, data=WebhookInput(
    url="https://hooks.example.org/" + "/".join(["deliveries", "release-engineering", "x" * 40, "push-events"]),
    name="Tell the release pipeline about every push", on_push=True, on_delete=True))
now = timezone.now()
delivery = Delivery.objects.create(
    webhook=webhook, event_id="evt-" + "0" * 32, event_type="push", payload={{"events": []}},
    status=Delivery.Status.FAILED, attempts=3, next_attempt_at=now, created_at=now, finished_at=now,
    request_url=webhook.url, request_method="POST", request_body='{{"events": []}}', response_status=502,
    response_body="Bad gateway", duration_ms=120, error="The target answered 502.")
robot = robot_create(name="release-pipeline-publisher", by=long_user, namespace=namespace,
                     description="Pushes what CI builds.")
application_token_create(user=robot, application="ci", by=long_user)
policy = TrustPolicy.objects.create(robot=robot, issuer="https://token.actions.example.org",
                                    rules='repository == "example/release-engineering"', created_by=long_user)
grant_create(namespace=namespace, pattern="release-*", permission="push", by=long_user, user=olivia)
pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
signing_key_add(namespace=namespace, name="Release signing key 2026 (hardware token)", pem=pem, by=long_user)
personal = Namespace.objects.get(name={long_user!r}, registry=registry)
rule_save(scope="namespace", namespace=personal, by=long_user,
          values={{"keep_latest": 10, "older_than_days": 30, "enabled": False}})
run = run_create(dry_run=True, namespace=personal, by=long_user)
token, _ = application_token_create(user=long_user, application="laptop-" + "x" * 60, by=long_user,
                                    expires_at=now + timedelta(days=30))
application_token_create(user=long_user, application="release-pipeline.ci", by=long_user)
refresh_token_create(user=long_user, registry=registry, client_id="docker-credential-" + "y" * 40)
refresh_token_create(user=long_user, registry=registry, client_id="podman", application_token=token)
tessa = user_create(username={totp_user!r}, email="tessa@example.org", password=pw, admin=False,
                    check_password=False)
totp_begin(user=tessa)
TotpDevice.objects.filter(user=tessa).update(confirmed_at=now)
totp_begin(user=long_user)  # an unconfirmed app: the enrolment page shows its QR code
reset = {{"uid": urlsafe_base64_encode(force_bytes(olivia.pk)), "token": default_token_generator.make_token(olivia)}}
print("SEED" + json.dumps({{
    "user": long_user.pk, "team": team.pk, "namespace": namespace.pk, "personal_namespace": personal.pk,
    "webhook": webhook.pk, "delivery": delivery.pk, "robot": robot.pk, "trust_policy": policy.pk,
    "registry": registry.pk, "run": run.pk, "reset": reset,
}}))
"""

# After the push: the repository's own things (a rule, a comment, a star), and its ids.
AFTER_PUSH_SCRIPT = r"""
import json
from accounts.models import User
from namespaces.models import Repository, Tag
from namespaces.social import comment_create, star_toggle
from retention.rules import rule_save

long_user = User.objects.get(username={long_user!r})
repository = Repository.objects.get(namespace__name={long_user!r}, name={name!r})
rule_save(scope="repository", repository=repository, by=long_user, values={{"keep_latest": 3, "enabled": False}})
comment_create(repository=repository, author=long_user,
               body="Pinned `" + {long_tag!r} + "` for the release: see https://example.org/" + "r" * 80)
star_toggle(repository=repository, user=long_user)
tag = Tag.objects.get(repository=repository, name={long_tag!r})
print("SEED" + json.dumps({{"repository": repository.pk, "tag": tag.pk}}))
"""
