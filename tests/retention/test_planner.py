"""The planner, alone: digest safety, index children, protection, keep-latest, determinism (hypothesis)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from retention.planner import RepositoryFacts, RuleSpec, TagFact, plan_all, plan_repository

NOW = datetime(2026, 12, 1, tzinfo=UTC)
OLD = NOW - timedelta(days=100)
NEW = NOW - timedelta(days=1)
RULE = RuleSpec(label="test", older_than_days=30)


def tag(name, digest, pushed=OLD, pulled=None, index=False):
    return TagFact(name=name, digest=digest, pushed_at=pushed, pulled_at=pulled, is_index=index)


def facts(*tags, rule=RULE, children=None, unreadable=None):
    return RepositoryFacts(repository_id=1, name="qa/app", rule=rule, tags=tuple(tags),
                           children=children or {}, unreadable=unreadable or {})


def deleted(plan):
    return {d.digest: d.tags for d in plan.deletions}


def reasons(plan):
    return {k.tag: k.reason for k in plan.kept}


def test_an_old_tag_sharing_its_digest_with_a_young_one_is_kept():
    plan = plan_repository(facts(tag("latest", "sha256:a", pushed=NEW), tag("v1", "sha256:a")), NOW)
    assert plan.deletions == []
    assert reasons(plan)["v1"] == "shares its image with the kept tag latest"
    assert reasons(plan)["latest"].startswith("pushed 1 days ago")


def test_a_digest_whose_tags_may_all_go_is_deleted_once_with_every_tag():
    plan = plan_repository(facts(tag("v1", "sha256:a"), tag("v1.0", "sha256:a"), tag("v2", "sha256:b", pushed=NEW)),
                           NOW)
    assert deleted(plan) == {"sha256:a": ("v1", "v1.0")}
    assert plan.deletions[0].reason == "pushed 100 days ago"


def test_protected_patterns_keep_the_tag_and_its_digest():
    rule = RuleSpec(label="t", older_than_days=30, protect=("release-*", "latest"))
    plan = plan_repository(facts(tag("release-1", "sha256:a"), tag("tmp", "sha256:a"), tag("latest", "sha256:b"),
                                 tag("old", "sha256:c"), rule=rule), NOW)
    assert deleted(plan) == {"sha256:c": ("old",)}
    assert reasons(plan)["release-1"] == "protected by pattern release-*"
    assert reasons(plan)["tmp"] == "shares its image with the kept tag release-1"


def test_include_patterns_limit_what_the_rule_touches():
    rule = RuleSpec(label="t", older_than_days=30, include=("pr-*",))
    plan = plan_repository(facts(tag("pr-1", "sha256:a"), tag("v1", "sha256:b"), rule=rule), NOW)
    assert deleted(plan) == {"sha256:a": ("pr-1",)}
    assert reasons(plan)["v1"] == "not matched by the rule's include patterns"


def test_keep_latest_counts_the_newest_included_tags():
    rule = RuleSpec(label="t", keep_latest=2)
    tags = [tag(f"v{i}", f"sha256:{i}", pushed=NOW - timedelta(days=10 - i)) for i in range(5)]
    plan = plan_repository(facts(*tags, rule=rule), NOW)
    assert sorted(deleted(plan)) == ["sha256:0", "sha256:1", "sha256:2"]
    assert reasons(plan) == {"v3": "one of the 2 latest", "v4": "one of the 2 latest"}


def test_recently_pulled_tags_stay():
    rule = RuleSpec(label="t", older_than_days=30, not_pulled_days=14)
    plan = plan_repository(facts(tag("a", "sha256:a", pulled=NOW - timedelta(days=2)),
                                 tag("b", "sha256:b", pulled=NOW - timedelta(days=20)), tag("c", "sha256:c"),
                                 rule=rule), NOW)
    assert sorted(deleted(plan)) == ["sha256:b", "sha256:c"]
    assert reasons(plan)["a"] == "pulled 2 days ago (rule: not pulled for 14)"


def test_an_index_whose_platform_is_a_kept_tag_is_kept():
    children = {"sha256:idx": frozenset({"sha256:amd", "sha256:arm"})}
    plan = plan_repository(facts(tag("multi", "sha256:idx", index=True), tag("amd64", "sha256:amd", pushed=NEW),
                                 children=children), NOW)
    assert plan.deletions == []
    assert reasons(plan)["multi"].startswith("its platform sha256:amd")


def test_a_platform_of_a_kept_index_is_never_deleted():
    children = {"sha256:idx": frozenset({"sha256:amd", "sha256:arm"})}
    plan = plan_repository(facts(tag("multi", "sha256:idx", pushed=NEW, index=True), tag("amd64-old", "sha256:amd"),
                                 children=children), NOW)
    assert plan.deletions == []
    assert reasons(plan)["amd64-old"] == "a platform of the kept index tag multi"


def test_an_old_index_and_its_old_platform_tag_go_indexes_first():
    children = {"sha256:idx": frozenset({"sha256:amd"})}
    plan = plan_repository(facts(tag("old-amd64", "sha256:amd"), tag("old", "sha256:idx", index=True),
                                 children=children), NOW)
    assert [d.digest for d in plan.deletions] == ["sha256:idx", "sha256:amd"]


def test_an_index_whose_platforms_could_not_be_read_is_kept():
    plan = plan_repository(facts(tag("old", "sha256:idx", index=True), unreadable={"sha256:idx": "timeout"}), NOW)
    assert plan.deletions == []
    assert "could not be read" in reasons(plan)["old"]


# --- properties ----------------------------------------------------------------------------------

DIGESTS = [f"sha256:{c}" for c in "abcdefgh"]


@st.composite
def repositories(draw):
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9.-]{0,6}", fullmatch=True), min_size=1, max_size=12,
                          unique=True))
    tags = tuple(
        TagFact(name=n, digest=draw(st.sampled_from(DIGESTS)),
                pushed_at=NOW - timedelta(days=draw(st.integers(0, 60))),
                pulled_at=draw(st.one_of(st.none(), st.integers(0, 60).map(lambda d: NOW - timedelta(days=d)))))
        for n in names)
    children = {}
    for digest in draw(st.lists(st.sampled_from(DIGESTS), max_size=3, unique=True)):
        children[digest] = frozenset(draw(st.lists(st.sampled_from(DIGESTS), max_size=3)) ) - {digest}
    rule = RuleSpec(label="p", older_than_days=draw(st.one_of(st.none(), st.integers(1, 40))),
                    not_pulled_days=draw(st.one_of(st.none(), st.integers(1, 40))),
                    keep_latest=draw(st.integers(0, 4)),
                    include=tuple(draw(st.lists(st.sampled_from(["*", "a*", "*.*", "[a-m]*"]), max_size=2))),
                    protect=tuple(draw(st.lists(st.sampled_from(["latest", "b*", "?"]), max_size=2))))
    return RepositoryFacts(repository_id=1, name="qa/app", rule=rule, tags=tags, children=children)


def _reachable(children, roots):
    seen, stack = set(), list(roots)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


@settings(max_examples=300, deadline=None)
@given(repositories())
def test_no_kept_tag_loses_its_image_nor_a_platform_of_it(repo):
    plan = plan_repository(repo, NOW)
    kept_digests = {k.digest for k in plan.kept}
    deleted_digests = {d.digest for d in plan.deletions}
    assert not kept_digests & deleted_digests
    assert not _reachable(repo.children, kept_digests) & deleted_digests
    # every tag is either kept or deleted, exactly once
    accounted = [k.tag for k in plan.kept] + [t for d in plan.deletions for t in d.tags]
    assert sorted(accounted) == sorted(t.name for t in repo.tags)
    # an index with a platform that is a kept tag's image is kept
    for digest in deleted_digests:
        assert not repo.children.get(digest, frozenset()) & kept_digests


@settings(max_examples=150, deadline=None)
@given(repositories(), st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_the_order_of_the_facts(repo, rnd: random.Random):
    shuffled_tags = list(repo.tags)
    rnd.shuffle(shuffled_tags)
    shuffled = RepositoryFacts(repository_id=1, name="qa/app", rule=repo.rule, tags=tuple(shuffled_tags),
                               children=dict(reversed(list(repo.children.items()))))
    assert plan_repository(repo, NOW) == plan_repository(shuffled, NOW)
    assert plan_all([repo], NOW) == plan_all([repo], NOW)
