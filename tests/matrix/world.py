"""The matrix's world: one registry, the named actors, their credentials and a target for every door.

Built once for the package (tests/matrix/conftest.py) inside a transaction that is rolled back at its end;
each row runs in a savepoint of its own, so a row that writes leaves the world as it found it.

Who is who (the actor classes of tables.py):
- team `qa` (namespaces `qa`, private, and `pub`, public): olivia owns it, carl contributes, vera views;
  lena (contributor) is locked, dora (contributor) is disabled, luke (viewer) comes from LDAP;
- gina holds a `push` grant on `qa/app` and no role; oscar is a stranger to everything; otto signed up
  with an identity provider and has no password;
- `robot$qa+ci` is namespace qa's robot, a contributor of its team; `robot$deploy` is an instance robot
  with a `pull` grant on `qa/app`;
- vera has a passkey (a second factor: her password opens no registry login);
- adam is the admin. Olivia also holds the odd credentials: an expired, a revoked, a pull-only and an
  API-read-only application token.
Targets that only a row acts on: namespace `bare` of team qa (empty, so it may be renamed or moved), team
`ops` (adam's, where olivia only views: no namespace of hers moves in), registry `spare` (nothing depends
on it, so it may be deleted) and qa's robot's trust policy.
Objects a row acts on and that nobody is (`tess`, the team member, user and target of admin forms) are
separate from the actors, so that "is it mine?" never depends on which actor asks.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from types import SimpleNamespace

from django.utils import timezone

PASSWORD = "correct-horse-battery"
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _user(username: str, **kwargs):
    from accounts.services import user_create

    return user_create(username=username, email=f"{username}@example.org", password=PASSWORD,
                       check_password=False, **kwargs)


def _repository(namespace, name: str, author):
    from namespaces.models import Repository, Tag

    repository = Repository.objects.create(namespace=namespace, name=name)
    for position, (tag, digest) in enumerate({"latest": DIGEST_A, "v1": DIGEST_A, "v0": DIGEST_B}.items()):
        Tag.objects.create(repository=repository, name=tag, digest=digest, image_id="sha256:" + "c" * 64,
                           size=1536 * (position + 1), author=author,
                           pushed_at=timezone.now() - timedelta(minutes=10 - position))
    repository.tags_count = 3
    repository.save()
    return repository


def build() -> SimpleNamespace:
    from accounts.models import ApiAccess, ApplicationToken, RegistryAccess, User
    from accounts.robots import robot_create
    from accounts.services import application_token_create, refresh_token_create
    from federation.models import ExternalIdentity, TrustPolicy
    from grants.services import grant_create
    from hooks.queue import ping_queue
    from hooks.services import WebhookInput, webhook_create
    from images.services import signing_key_add
    from ldapauth.models import LdapAccount
    from namespaces.models import Namespace
    from namespaces.services import namespace_create
    from namespaces.social import comment_create
    from registries.services import registry_create
    from retention import runs
    from retention.rules import rule_save
    from teams.models import Role, TeamMember
    from teams.services import team_create, team_member_add
    from twofactor.models import Passkey

    w = SimpleNamespace()
    w.registry = registry_create(name="main", hostname="registry.test.lan:5000", use_ssl=False, by=None,
                                 check=False)
    w.admin = _user("adam", admin=True)
    w.owner = _user("olivia")
    w.contributor = _user("carl")
    w.viewer = _user("vera")
    w.grantee = _user("gina")
    w.outsider = _user("oscar")
    w.locked = _user("lena")
    w.disabled = _user("dora")
    w.ldap = _user("luke")
    w.oidc = _user("otto")
    w.tess = _user("tess")  # a target: the team member and the user the admin forms act on

    team = w.team = team_create(name="qa", owner=w.owner)
    for user, role in ((w.contributor, Role.CONTRIBUTOR), (w.viewer, Role.VIEWER), (w.locked, Role.CONTRIBUTOR),
                       (w.disabled, Role.CONTRIBUTOR), (w.ldap, Role.VIEWER), (w.tess, Role.VIEWER)):
        team_member_add(team=team, user=user, role=role, by=w.owner)
    w.tess_member = TeamMember.objects.get(team=team, user=w.tess)
    w.spare_team = team_create(name="spare", owner=w.owner)  # a team of olivia's with nothing in it
    # The admin's team, where olivia only views: she may not move a namespace into it.
    w.ops_team = team_create(name="ops", owner=w.admin)
    team_member_add(team=w.ops_team, user=w.owner, role=Role.VIEWER, by=w.admin)

    w.qa = namespace_create(name="qa", team=team, by=w.owner, registry=w.registry)
    w.pub = namespace_create(name="pub", team=team, by=w.owner, registry=w.registry, visibility="public")
    w.prot = namespace_create(name="prot", team=team, by=w.owner, registry=w.registry, visibility="protected")
    # Empty (no repositories, no robots): the one a rename or a move may act on.
    w.bare = namespace_create(name="bare", team=team, by=w.owner, registry=w.registry)
    w.personal = Namespace.objects.get(registry=w.registry, name="olivia")
    w.global_ns = Namespace.objects.get(registry=w.registry, is_global=True)
    w.app = _repository(w.qa, "app", w.owner)
    w.other = _repository(w.qa, "other", w.owner)
    w.site = _repository(w.pub, "site", w.owner)
    w.lib = _repository(w.prot, "lib", w.owner)
    _repository(w.personal, "mine", w.owner)
    w.tag = w.app.tags.get(name="v0")
    w.site_tag = w.site.tags.get(name="v0")

    # A namespace deleted while images remained: retired, for admins only.
    w.retired = namespace_create(name="gone", team=team, by=w.owner, registry=w.registry)
    _repository(w.retired, "old", w.owner)
    w.retired.retired_at = timezone.now()
    w.retired.save(update_fields=["retired_at"])

    # Accounts of another origin and state.
    # As ldapauth makes it: the directory's password is the one that counts, the local one is random.
    LdapAccount.objects.create(user=w.ldap, dn="uid=luke,ou=people,dc=example,dc=org")
    w.ldap.set_password(secrets.token_urlsafe(24))
    w.ldap.save(update_fields=["password"])
    w.oidc.set_unusable_password()
    w.oidc.save(update_fields=["password"])
    w.identity = ExternalIdentity.objects.create(user=w.oidc, provider="openid_connect", subject="otto-sub-1",
                                                 login="otto", email="otto@example.org")
    User.objects.filter(pk=w.locked.pk).update(locked_until=timezone.now() + timedelta(hours=1),
                                               locked_at=timezone.now())
    User.objects.filter(pk=w.disabled.pk).update(enabled=False)

    # Robots and grants.
    w.robot = robot_create(name="ci", by=w.owner, namespace=w.qa)
    team_member_add(team=team, user=w.robot, role=Role.CONTRIBUTOR, by=w.owner)
    w.irobot = robot_create(name="deploy", by=w.admin)
    w.grant = grant_create(namespace=w.qa, pattern="app", permission="push", by=w.owner, user=w.grantee)
    grant_create(namespace=w.qa, pattern="app", permission="pull", by=w.owner, user=w.irobot)
    w.trust_policy = TrustPolicy.objects.create(robot=w.irobot, issuer="https://gitlab.com", audience="",
                                                rules='project_path == "acme/app"', created_by=w.admin)
    # qa's robot trusts a CI issuer too: its namespace's owners manage that, as they manage its tokens.
    w.robot_trust_policy = TrustPolicy.objects.create(robot=w.robot, issuer="https://gitlab.com", audience="",
                                                      rules='project_path == "acme/ci"', created_by=w.owner)

    # Credentials: a full token for every actor that has one, and olivia's odd ones.
    w.secrets = {}
    for key in ("admin", "owner", "contributor", "viewer", "grantee", "outsider", "locked", "disabled",
                "ldap", "oidc", "robot", "irobot"):
        user = getattr(w, key)
        w.secrets[key] = application_token_create(user=user, application="matrix", by=user)[1]
    for key, fields in {
        "token_expired": {},
        "token_revoked": {},
        "token_pull_only": {"registry_access": RegistryAccess.PULL, "api_access": ApiAccess.NONE},
        "token_api_read": {"registry_access": RegistryAccess.NONE, "api_access": ApiAccess.READ},
    }.items():
        token, w.secrets[key] = application_token_create(user=w.owner, application=key, by=w.owner, **fields)
        if key == "token_expired":
            ApplicationToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        if key == "token_revoked":
            ApplicationToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    w.owner_token = application_token_create(user=w.owner, application="spare", by=w.owner)[0]
    w.robot_token = application_token_create(user=w.robot, application="spare", by=w.owner)[0]
    w.irobot_token = application_token_create(user=w.irobot, application="spare", by=w.admin)[0]
    refresh_token_create(user=w.owner, registry=w.registry, client_id="docker")
    from accounts.models import RefreshToken

    w.refresh_token = RefreshToken.objects.filter(user=w.owner).first()
    # Vera signs in with a passkey too: a second factor, so her password no longer opens the registry.
    w.passkey = Passkey.objects.create(user=w.viewer, name="laptop", credential_id=b"matrix-credential",
                                       public_key=b"\x00" * 32)

    # Namespace qa's furniture.
    w.webhook, _ = webhook_create(namespace=w.qa, data=WebhookInput(url="https://ci.example.org/hook"), by=w.owner)
    w.delivery = ping_queue(webhook=w.webhook, by=w.owner)
    w.signing_key = signing_key_add(namespace=w.qa, name="release", pem=_pem(), by=w.owner)
    w.comment = comment_create(repository=w.app, author=w.owner, body="Built from main.")
    w.ns_rule = rule_save(scope="namespace", namespace=w.qa, values={"enabled": True, "keep_latest": 5},
                          by=w.owner)
    w.repo_rule = rule_save(scope="repository", namespace=w.qa, repository=w.app,
                            values={"enabled": True, "keep_latest": 3}, by=w.owner)
    w.run = runs.run_create(dry_run=True, namespace=w.qa, by=w.owner)
    # A registry nothing depends on yet (only its automatic namespaces): the one a delete may act on.
    w.spare_registry = registry_create(name="spare", hostname="spare.test.lan:5000", use_ssl=False, by=None,
                                       check=False)
    return w
