"""Tag retention against the real registry: images seeded with skopeo, a dry run, then a real run by the
background process; what the dry run listed is exactly what the real run deleted, and the registry's own
tag lists say the rest is still there (shared digests, an index sharing a platform with a kept tag,
protected patterns, keep-latest)."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.conftest import PASSWORD
from tests.e2e.support.containers import skopeo

pytestmark = pytest.mark.e2e
CREDS = f"admin:{PASSWORD}"


def _push(stack, source: str, repository: str, tag: str, *, all_platforms: bool = False) -> None:
    skopeo("copy", *(["--all"] if all_platforms else []), "--src-creds", CREDS, "--dest-creds", CREDS,
           source, f"docker://{stack.registry.ref(repository, tag)}")


def _registry_tags(stack, repository: str) -> list[str]:
    out = skopeo("list-tags", "--creds", CREDS, f"docker://{stack.registry.address}/{repository}").stdout
    return sorted(json.loads(out)["Tags"] or [])


def _served(stack, repository: str, reference: str) -> bool:
    return skopeo("inspect", "--raw", "--creds", CREDS, f"docker://{stack.registry.ref(repository, reference)}",
                  check=False).returncode == 0


def _age(stack, ages: dict[str, dict[str, int]]) -> None:
    """Backdates tags here (what the planner reads), days by repository and tag: the registry keeps no age."""
    stack.manage("shell", "-c", f"""
from datetime import timedelta
from django.utils import timezone
from namespaces.models import Tag
for repo, tags in {ages!r}.items():
    for name, days in tags.items():
        n = Tag.objects.filter(repository__namespace__name="ret", repository__name=repo.split("/", 1)[1],
                               name=name).update(pushed_at=timezone.now() - timedelta(days=days))
        assert n == 1, (repo, name)
""")


def _wait_run(stack, run_id: int, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = stack.api(f"/retention/runs/{run_id}").json()
        if run["status"] in ("done", "failed", "cancelled"):
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"retention run {run_id} still {run['status']} after {timeout} s\n{stack.logs()}")
        time.sleep(0.3)


def _items(stack, run_id: int, action: str) -> list[dict]:
    response = stack.api(f"/retention/runs/{run_id}/items", params={"action": action, "all": "true"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def seeded(stack, images):
    created = stack.api("/namespaces", "POST", json={"name": "ret", "team": "qa"})
    assert created.status_code == 201, created.text
    shared, older = images.single(tag="latest"), images.single(tag="v0")
    _push(stack, shared.ref(), "ret/shared", "latest")
    _push(stack, shared.ref(), "ret/shared", "v1")  # the same digest as latest
    _push(stack, older.ref(), "ret/shared", "v0")
    kept_index, old_index = images.multi(tag="multi"), images.multi(tag="old-multi")
    _push(stack, kept_index.ref(), "ret/index", "multi", all_platforms=True)
    platform = kept_index.children[0]
    _push(stack, f"docker://{stack.registry.ref('ret/index', platform.digest)}", "ret/index", "amd64")
    _push(stack, old_index.ref(), "ret/index", "old-multi", all_platforms=True)
    release, scratch = images.single(tag="release-1"), images.single(tag="tmp-1")
    _push(stack, release.ref(), "ret/protect", "release-1")
    _push(stack, scratch.ref(), "ret/protect", "tmp-1")
    versions = {f"v{i}": images.single(tag=f"v{i}") for i in range(1, 5)}
    for name, image in versions.items():
        _push(stack, image.ref(), "ret/keep", name)
    expected = {("ret/shared", "latest"): shared.digest, ("ret/shared", "v1"): shared.digest,
                ("ret/shared", "v0"): older.digest, ("ret/index", "multi"): kept_index.digest,
                ("ret/index", "amd64"): platform.digest, ("ret/index", "old-multi"): old_index.digest,
                ("ret/protect", "release-1"): release.digest, ("ret/protect", "tmp-1"): scratch.digest,
                **{("ret/keep", n): i.digest for n, i in versions.items()}}
    for (repository, tag), digest in expected.items():
        stack.wait_for_tag(repository, tag, digest, timeout=30)
    _age(stack, {"ret/shared": {"v1": 60, "v0": 60}, "ret/index": {"multi": 60, "old-multi": 60},
                 "ret/protect": {"release-1": 60, "tmp-1": 60},
                 "ret/keep": {"v1": 50, "v2": 40, "v3": 35, "v4": 31}})
    namespace_id = created.json()["id"]
    rule = stack.api(f"/retention/rules/namespaces/{namespace_id}", "PUT",
                     json={"older_than_days": 30, "protect": ["release-*"]})
    assert rule.status_code == 200, rule.text
    keep_repo = stack.repository("ret/keep")
    rule = stack.api(f"/retention/rules/repositories/{keep_repo['id']}", "PUT",
                     json={"older_than_days": 30, "keep_latest": 2})
    assert rule.status_code == 200, rule.text
    return {"namespace_id": namespace_id, "index": kept_index, "old_index": old_index}


EXPECTED_DELETED = [("ret/index", "old-multi"), ("ret/keep", "v1"), ("ret/keep", "v2"), ("ret/protect", "tmp-1"),
                    ("ret/shared", "v0")]
SURVIVORS = {"ret/shared": ["latest", "v1"], "ret/index": ["amd64", "multi"], "ret/protect": ["release-1"],
             "ret/keep": ["v3", "v4"]}


def test_a_dry_run_lists_exactly_what_the_real_run_deletes(stack, seeded, capsys):
    before = {repo: _registry_tags(stack, repo) for repo in SURVIVORS}

    dry = stack.api("/retention/runs", "POST", json={"dry_run": True, "namespace_id": seeded["namespace_id"]})
    assert dry.status_code == 201, dry.text
    dry_run = _wait_run(stack, dry.json()["id"])
    assert dry_run["status"] == "done", dry_run
    planned = sorted((i["repository"], t) for i in _items(stack, dry_run["id"], "delete") for t in i["tags"])
    assert planned == EXPECTED_DELETED
    kept = {(i["repository"], i["tags"][0]): i["reason"] for i in _items(stack, dry_run["id"], "keep")}
    assert kept[("ret/shared", "v1")] == "shares its image with the kept tag latest"
    assert kept[("ret/index", "multi")].startswith("its platform sha256:") and "kept tag amd64" in kept[
        ("ret/index", "multi")]
    assert kept[("ret/protect", "release-1")] == "protected by pattern release-*"
    assert kept[("ret/keep", "v3")] == kept[("ret/keep", "v4")] == "one of the 2 latest"
    # A dry run deletes nothing.
    assert {repo: _registry_tags(stack, repo) for repo in SURVIVORS} == before

    real = stack.api("/retention/runs", "POST", json={"dry_run": False, "namespace_id": seeded["namespace_id"]})
    assert real.status_code == 201, real.text
    real_run = _wait_run(stack, real.json()["id"])
    assert real_run["status"] == "done", real_run
    assert (real_run["done"], real_run["total"], real_run["deleted_count"]) == (5, 5, 5)
    assert real_run["progress"] == "5 of 5"
    items = _items(stack, real_run["id"], "delete")
    deleted = sorted((i["repository"], t) for i in items if i["status"] == "deleted" for t in i["tags"])
    assert deleted == planned
    report = stack.api(f"/retention/runs/{real_run['id']}/report").json()["text"]
    with capsys.disabled():
        print(f"\n--- retention report of the real run ---\n{report}\n---")

    # The registry's own tag lists: exactly the survivors.
    assert {repo: _registry_tags(stack, repo) for repo in SURVIVORS} == SURVIVORS
    # The kept index is whole: its platforms (one shared with the kept tag amd64) are still served.
    for child in seeded["index"].children:
        assert _served(stack, "ret/index", child.digest)
    assert _served(stack, "ret/index", "multi")
    assert not _served(stack, "ret/index", seeded["old_index"].digest)
    # The mirror agrees, and a new plan finds nothing more to delete.
    for repo, tags in SURVIVORS.items():
        assert sorted(stack.tags(repo)) == tags
    again = stack.manage("retention", "--dry-run", "--namespace", "ret").stdout
    assert "Would delete: 0 image(s), 0 tag(s)" in again
