"""Hostile manifests and configs: huge, deep, odd unicode — what is kept is bounded, nothing crashes."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from images import parse
from images.models import Kind

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=40,
)
odd_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=300)

DIGEST = "sha256:" + "a" * 64


def _bounded(value) -> None:
    """Every string kept is clean and within bounds (JSON- and PostgreSQL-storable)."""
    text = json.dumps(value, ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogates
    assert "\x00" not in text and "\\u0000" not in text
    assert len(text) < 5_000_000


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=json_values, media_type=odd_text, tag=odd_text)
def test_any_json_as_a_manifest(data, media_type, tag):
    parsed = parse.parse_manifest(data, media_type, tag_hint=tag)
    assert parsed.kind in Kind.values
    assert len(parsed.layers) <= parse.MAX_LAYERS and len(parsed.platforms) <= parse.MAX_PLATFORMS
    _bounded([parsed.annotations, parsed.platforms, [vars(layer) for layer in parsed.layers], parsed.media_type])


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=json_values)
def test_any_json_as_a_config(data):
    truncated: list[str] = []
    shown, made_by = parse.parse_config(data, [parse.LayerRef(DIGEST, 1, "", {})] * 3, truncated)
    assert len(made_by) == 3
    _bounded([shown, made_by, truncated])


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(key=odd_text, value=odd_text)
def test_odd_unicode_in_every_string(key, value):
    config = {"created": value, "author": value, "config": {
        "Env": [f"{key}={value}", f"SECRET_{key}={value}"], "Labels": {key: value}, "Cmd": [value, value],
        "Entrypoint": value, "WorkingDir": value, "ExposedPorts": {value: {}}}, "history": [{"created_by": value}]}
    shown, made_by = parse.parse_config(config, [parse.LayerRef(DIGEST, 1, "", {})], [])
    _bounded([shown, made_by])
    secret = [pair for pair in shown["env"] if pair[0].startswith("SECRET_")]
    assert all(pair[1] in ("", parse.MASK) for pair in secret)
    for text in [shown["author"], *shown["cmd"], made_by[0]]:
        assert not any(c in text for c in "\u202e\u2066\x00\x1b")


def test_huge_manifest_is_cut_and_says_so():
    layers = [{"mediaType": "x", "digest": "sha256:" + f"{i:064x}", "size": i} for i in range(5000)]
    annotations = {f"k{i}": "v" * 10_000 for i in range(1000)}
    parsed = parse.parse_manifest({"mediaType": parse.IMAGE_CONFIG_TYPES and
                                   "application/vnd.oci.image.manifest.v1+json",
                                   "config": {"digest": DIGEST, "size": 10}, "layers": layers,
                                   "annotations": annotations})
    assert len(parsed.layers) == parse.MAX_LAYERS
    assert len(parsed.annotations) == parse.MAX_MAP_ITEMS
    assert all(len(v) <= parse.MAX_VALUE for v in parsed.annotations.values())
    assert any("more layers" in note for note in parsed.truncated)
    assert any("more annotations" in note for note in parsed.truncated)


def test_huge_index_and_bad_sizes():
    entries = [{"digest": "sha256:" + f"{i:064x}", "size": -5 if i % 2 else True, "platform": {"os": ["x"]}}
               for i in range(1000)]
    parsed = parse.parse_manifest({"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})
    assert parsed.kind == Kind.INDEX and len(parsed.platforms) == parse.MAX_PLATFORMS
    assert all(p["size"] == 0 and p["os"] == "" for p in parsed.platforms)


def test_deep_json_does_not_recurse_into_trouble():
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["config"] = {}
        node = node["config"]
    parse.parse_manifest(deep)
    parse.parse_config(deep, [], [])


def test_history_matches_non_empty_entries_only():
    history = [{"created_by": "FROM"}, {"created_by": "ENV A=1", "empty_layer": True}, {"created_by": "RUN b"}]
    layers = [parse.LayerRef(DIGEST, 1, "", {}), parse.LayerRef(DIGEST, 2, "", {})]
    _, made_by = parse.parse_config({"history": history}, layers, [])
    assert made_by == ["FROM", "RUN b"]


def test_secret_looking_names_are_masked():
    truncated: list[str] = []
    env = parse.environment(["DB_PASSWORD=x", "GITHUB_TOKEN=y", "AWS_SECRET_ACCESS_KEY=z", "PATH=/bin",
                             "HOME=/root", "NO_VALUE", "api_key=w"], truncated)
    assert dict(env) == {"DB_PASSWORD": parse.MASK, "GITHUB_TOKEN": parse.MASK, "AWS_SECRET_ACCESS_KEY": parse.MASK,
                         "PATH": "/bin", "HOME": "/root", "NO_VALUE": "", "api_key": parse.MASK}


def test_source_is_a_link_only_for_http():
    assert parse.source_url("https://github.com/o/r") == "https://github.com/o/r"
    for bad in ("javascript:alert(1)", "data:text/html,x", "http://", "https://a b", 'https://x"onmouseover=1',
                "//evil.example", "ftp://x"):
        assert parse.source_url(bad) == ""


def test_artifact_kinds():
    sig = parse.parse_manifest({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": DIGEST},
                                "layers": [{"mediaType": parse.SIMPLESIGNING, "digest": DIGEST}]})
    assert sig.kind == Kind.SIGNATURE
    sbom = parse.parse_manifest({"artifactType": "application/spdx+json", "subject": {"digest": DIGEST},
                                 "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": DIGEST}})
    assert sbom.kind == Kind.SBOM and sbom.subject_digest == DIGEST
    other = parse.parse_manifest({"artifactType": "application/vnd.example", "subject": {"digest": DIGEST}})
    assert other.kind == Kind.ARTIFACT
    assert parse.parse_manifest({}, tag_hint="sha256-" + "a" * 64 + ".att").kind == Kind.ATTESTATION
    assert parse.cosign_tag("sha256-" + "a" * 64) == (DIGEST, "referrers")
    assert parse.cosign_tag("sha256-" + "a" * 63 + ".sig") is None
    assert parse.parse_manifest({"subject": {"digest": "sha256:../../etc"}}).subject_digest == ""
