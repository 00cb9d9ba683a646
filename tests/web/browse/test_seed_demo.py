"""manage.py seed_demo: realistic data in bulk, and a second run that adds nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import User
from activities.models import Activity
from namespaces.models import Namespace, Repository, Tag
from teams.models import Team, TeamMember

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (User, Team, TeamMember, Namespace, Repository, Tag,
                                                               Activity)}


def test_seed_makes_what_was_asked_and_a_second_run_adds_nothing(capsys):
    call_command("seed_demo", repositories=50, tags=400, users=15)
    first = counts()
    call_command("seed_demo", repositories=50, tags=400, users=15)
    assert counts() == first
    assert first["Repository"] == 50 and first["Tag"] == 400 and first["User"] == 15
    assert "Seeded" in capsys.readouterr().out


def test_seeded_data_looks_real():
    call_command("seed_demo", repositories=60, tags=600, users=12)
    assert set(Namespace.objects.values_list("visibility", flat=True)) == {"private", "protected", "public"}
    assert Namespace.objects.filter(is_global=True).exists()
    assert Tag.objects.exclude(platforms=[]).exists()
    assert all(t.digest.startswith("sha256:") and len(t.digest) == 71 for t in Tag.objects.all()[:50])
    shared = Tag.objects.values("repository_id", "digest").order_by().distinct().count()
    assert shared < Tag.objects.count()  # some digests carry several tags
    for repository in Repository.objects.all():
        assert repository.tags_count == repository.tags.count()
    assert Activity.objects.filter(key="repository.push").count() == 600
    assert TeamMember.objects.filter(team__hidden=False).count() > Team.objects.filter(hidden=False).count()
    assert User.objects.get(username="admin").admin
    assert User.objects.get(username="admin").check_password("demo-password")


def test_bad_arguments_are_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("seed_demo", repositories=0)
