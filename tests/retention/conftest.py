"""Retention fixtures: repository qa/app with tags in the database and in the fake registry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from namespaces.models import Repository, Tag


def d(c: str) -> str:
    return "sha256:" + c * 64


@pytest.fixture
def seed(namespace, fake_registry, internal_account, options):
    """seed({tag: (digest letter, age in days)}) → the repository, its tags here and in the registry."""
    options.set("delete.enabled", True)

    def make(tags: dict[str, tuple[str, int]], name: str = "app", children: dict | None = None):
        repository, _ = Repository.objects.get_or_create(namespace=namespace, name=name)
        now = timezone.now()
        for tag, (letter, days) in tags.items():
            kids = tuple(d(c) for c in (children or {}).get(letter, ""))
            Tag.objects.create(repository=repository, name=tag, digest=d(letter), pushed_at=now - timedelta(days=days),
                               platforms=[{"digest": k} for k in kids])
            fake_registry.push(repository.full_name, tag, d(letter), children=kids)
        Repository.objects.filter(pk=repository.pk).update(tags_count=repository.tags.count())
        return repository

    return make


@pytest.fixture
def namespace_rule(namespace, owner):
    from retention.rules import rule_save

    def make(**values):
        return rule_save(scope="namespace", namespace=namespace, values={"enabled": True, **values}, by=owner)

    return make
