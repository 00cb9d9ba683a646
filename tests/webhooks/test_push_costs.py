"""What one registry event costs the background process in statements, fixed: a tag pushed to a repository
known already, and a pull. A change that adds a statement to every event shows here."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mirror import processing
from tests.webhooks.fakes import OCI_MANIFEST, event
from tests.webhooks.test_processing import deliver
from tests.webhooks.test_pushed_details import configured

pytestmark = pytest.mark.django_db


def statements(django_capture_on_commit_callbacks) -> list[str]:
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        assert processing.process_batch(limit=1) == 1
    return [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_a_push_to_a_known_repository(client, fake_registry, namespace, django_capture_on_commit_callbacks):
    for n in range(2):
        img = configured(fake_registry, "qa/app", f"s{n}", tag=f"v{n}")
        deliver(client, event("push", "qa/app", digest=img.digest, tag=f"v{n}", media_type=OCI_MANIFEST))
    statements(django_capture_on_commit_callbacks)  # the first makes the repository
    sql = statements(django_capture_on_commit_callbacks)
    # PostgreSQL takes the repository name's advisory lock with a statement; SQLite's BEGIN IMMEDIATE has it.
    assert len(sql) == (27 if connection.vendor == "postgresql" else 26), "\n".join(sql)


def test_a_pull(client, fake_registry, namespace, django_capture_on_commit_callbacks):
    img = configured(fake_registry, "qa/app", "s", tag="v1")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="v1", media_type=OCI_MANIFEST))
    statements(django_capture_on_commit_callbacks)
    deliver(client, event("pull", "qa/app", digest=img.digest, tag="v1", media_type=OCI_MANIFEST, actor="someone"))
    sql = statements(django_capture_on_commit_callbacks)
    assert len(sql) == 8, "\n".join(sql)
