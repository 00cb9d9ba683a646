"""`manage.py bench_sync` at a tiny size: a real docker-registry seeded on disk, synced, cleaned up."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from activities.models import Activity
from mirror.management.commands.bench_sync import REGISTRY_BINARY
from namespaces.models import Repository
from registries.models import Registry

pytestmark = pytest.mark.skipif(not Path(REGISTRY_BINARY).exists(), reason="Debian's docker-registry is missing")


def test_the_bench_syncs_a_real_registry_and_cleans_up(internal_account, registry):
    out = StringIO()
    call_command("bench_sync", "--repositories", "3", "--namespaces", "2", stdout=out)
    text = out.getvalue()
    assert "seeded 3 repositories" in text
    assert "first sync (everything new):" in text and "3 added, 0 changed, 0 removed, outcome complete" in text
    assert "second sync (nothing changed):" in text and "0 added, 0 changed, 0 removed, outcome complete" in text
    assert "CPU: this process" in text and "the registry alone" in text and "for 6 requests" in text
    assert list(Registry.objects.values_list("name", flat=True)) == ["main"]
    assert not Repository.objects.exists()
    assert Activity.objects.filter(key="repository.push", parameters__sync=True).count() == 3


def test_the_bench_needs_the_internal_account(registry):
    with pytest.raises(CommandError, match="create_api_account"):
        call_command("bench_sync", "--repositories", "1")
