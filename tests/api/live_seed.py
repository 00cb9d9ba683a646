"""Seeds the live server's database for the schemathesis run; prints the admin's Portus-Auth value.

Run as `python -m tests.api.live_seed` with the live server's environment. The admin and its token get
large ids, so that generated path parameters (small numbers, mostly) do not delete or disable them; the
other objects get small ids, so that generated ones often hit something real.
"""

from __future__ import annotations

import json
import os

import django


def main() -> None:
    django.setup()
    from django.utils import timezone

    from accounts.models import ApplicationToken, User
    from accounts.services import api_account_ensure, user_create
    from namespaces.models import Repository, Tag
    from namespaces.services import namespace_create
    from namespaces.social import comment_create, star_toggle
    from registries.services import registry_create
    from teams.services import team_create, team_member_add

    registry = registry_create(name="main", hostname=os.environ["LIVE_SEED_REGISTRY"], use_ssl=False, by=None,
                               check=False)
    # The account that deletes manifests in the registry.
    api_account_ensure(password="portus-internal-password")
    admin = User(pk=900_001, username="admin", email="admin@example.org", admin=True)
    admin.set_password("an-admin-password")
    admin.save()
    from accounts.services import personal_team_name
    from namespaces.services import personal_namespace_ensure
    from teams.models import Team, TeamMember

    personal = Team.objects.create(name=personal_team_name("admin"), hidden=True, personal_of=admin)
    TeamMember.objects.create(team=personal, user=admin, role="owner")
    personal_namespace_ensure(user=admin, registry=registry)
    plain = ApplicationToken.new_secret()
    token = ApplicationToken(pk=900_001, user=admin, application="schemathesis")
    token.set_secret(plain)
    token.save()

    owner = user_create(username="olivia", email="olivia@example.org", password="x" * 12, check_password=False)
    viewer = user_create(username="vera", email="vera@example.org", password="x" * 12, check_password=False)
    team = team_create(name="qa", owner=owner, description="The *QA* team")
    team_member_add(team=team, user=viewer, role="viewer", by=owner)
    namespace = namespace_create(name="qa", team=team, by=owner, registry=registry, description="QA images")
    repository = Repository.objects.create(namespace=namespace, name="app", description="An app", tags_count=3)
    for name, digest in (("latest", "a"), ("v1", "a"), ("v0", "b")):
        Tag.objects.create(repository=repository, name=name, digest="sha256:" + digest * 64, size=1234,
                           author=owner, pushed_at=timezone.now())
    comment_create(repository=repository, author=viewer, body="Looks good")
    star_toggle(repository=repository, user=viewer)
    print(json.dumps({"auth": f"admin:{plain}"}))


if __name__ == "__main__":
    main()
