"""The name grammar (portus/names.py): Distribution's language, linear on hostile input, in every validator."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from portus import names
from tests.hostile import assert_answers_fast, deadline, fill, hostile_shapes

# Distribution 2.8's grammar exactly as reference/regexp.go writes it (exponential on `a…a!`: short inputs only).
ORIGINAL_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*")
_ORIGINAL_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_ORIGINAL_DOMAIN = rf"(?:{_ORIGINAL_DOMAIN_PART}(?:\.{_ORIGINAL_DOMAIN_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_ORIGINAL_PATH = rf"{ORIGINAL_COMPONENT.pattern}(?:/{ORIGINAL_COMPONENT.pattern})*"
ORIGINAL_NAME = re.compile(rf"(?:{_ORIGINAL_DOMAIN}/)?{_ORIGINAL_PATH}")
ORIGINAL_PATH = re.compile(_ORIGINAL_PATH)
ORIGINAL_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
ORIGINAL_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")

ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def component_oracle(value: str) -> bool:
    """The component language without a regex: alphanumeric runs joined by '.', '_', '__' or dashes."""
    if not 0 < len(value) <= 255 or any(c not in ALNUM and c not in "._-" for c in value):
        return False
    runs, current = [], ""
    for char in value:
        if current and (char in ALNUM) != (current[-1] in ALNUM):
            runs.append(current)
            current = ""
        current += char
    runs.append(current)
    if runs[0][0] not in ALNUM or runs[-1][0] not in ALNUM:
        return False
    separators = runs[1::2]
    return all(s in (".", "_", "__") or set(s) == {"-"} for s in separators)


# --- every validator of a name field, as the doors call it ----------------------------------------------------


def _user_name(value: str):
    from accounts.models import User

    User._meta.get_field("username").run_validators(value)


def _namespace_name(value: str):
    from namespaces.models import Namespace

    Namespace(name=value).clean()


def _repository_name(value: str):
    from namespaces.models import Repository

    Repository._meta.get_field("name").run_validators(value)


def _scope(value: str):
    from realm.scopes import parse_scopes

    return parse_scopes([f"repository:{value}:pull,push"])


def _host_name(value: str):
    from registries.services import validate_hostname

    return validate_hostname(value)


def _webhook_repository(value: str):
    from mirror.inbox import is_repository_name

    return is_repository_name(value)


PATHS = [fill("a", 255, tail="a"), fill("a-", 255, tail="a"), fill("a.", 255, tail="a"), fill("a_", 255, tail="a"),
         fill("a/", 255, tail="a"), fill("a__", 255, tail="a")]
COMPONENTS = [p for p in PATHS if "/" not in p]
_LABEL = "a-" * 31 + "a"
HOSTS = [("a" * 63 + ".") * 3 + "a" * 63, (_LABEL + ".") * 3 + _LABEL[:57] + ":5000"]
TAGS = ["a" * 128, fill("a.", 128, tail="a"), fill("a-", 128, tail="a")]
DIGESTS = ["sha256:" + "a" * 153, "sha+b.c_d-e:" + "a" * 148]

VALIDATORS = {
    "user name": (_user_name, COMPONENTS),
    "namespace name": (_namespace_name, COMPONENTS),
    "repository name": (_repository_name, PATHS),
    "reference name": (names.is_valid_reference_name, PATHS),
    "scope": (_scope, PATHS),
    "webhook repository": (_webhook_repository, PATHS),
    "host name": (_host_name, HOSTS),
    "tag": (names.is_valid_tag, TAGS),
    "digest": (names.is_valid_digest, DIGESTS),
}
SHAPES = hostile_shapes(255)
SHORT_SHAPES = hostile_shapes(128)  # tags and digests stop longer inputs at the length check


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("field", sorted(VALIDATORS))
def test_every_name_validator_answers_a_hostile_input_in_linear_time(field, shape):
    check, valid = VALIDATORS[field]
    assert_answers_fast(check, SHAPES[shape], valid)
    if field in ("tag", "digest"):
        assert_answers_fast(check, SHORT_SHAPES[shape], valid)


@pytest.mark.parametrize(("field", "value"), [
    ("user name", "ivan\n"), ("namespace name", "devs\n"), ("repository name", "team/app\n"),
])
def test_a_trailing_newline_is_not_part_of_a_name(field, value):
    with pytest.raises(ValidationError):
        VALIDATORS[field][0](value)


def test_a_trailing_newline_is_not_part_of_a_tag_a_digest_or_a_reference():
    assert not names.is_valid_tag("latest\n")
    assert not names.is_valid_digest("sha256:" + "a" * 64 + "\n")
    assert not names.is_valid_reference_name("host:5000/team/app\n")
    assert not names.is_valid_component("ivan\n")


# --- the same language as Distribution's -------------------------------------------------------------------


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab0._-!A/", max_size=12))
def test_component_grammar_is_distributions(value):
    assert names.is_valid_component(value) is (ORIGINAL_COMPONENT.fullmatch(value) is not None)
    assert names.is_valid_component(value) is component_oracle(value)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="aB0._-/:[]!", max_size=12))
def test_repository_name_grammar_is_distributions(value):
    assert names.is_valid_reference_name(value) is (ORIGINAL_NAME.fullmatch(value) is not None)
    assert names.is_valid_path(value) is (ORIGINAL_PATH.fullmatch(value) is not None)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="aZ0_.-!é\n", max_size=130))
def test_tag_grammar_is_distributions(value):
    assert names.is_valid_tag(value) is (ORIGINAL_TAG.fullmatch(value) is not None)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="a0+._-:=Z!", min_size=30, max_size=160))
def test_digest_grammar_is_ocis(value):
    assert names.is_valid_digest(value) is (ORIGINAL_DIGEST.fullmatch(value) is not None)


# --- every name field, on long structured input ------------------------------------------------------------

PIECES = ["a", "b0", "z", ".", "_", "__", "-", "---", "/", "!", ":", "A", "[", "]", "é", "\n"]
long_names = st.lists(st.sampled_from(PIECES), max_size=160).map("".join)


@settings(max_examples=400, deadline=None)
@given(long_names)
def test_every_name_field_answers_any_input_at_once_and_never_raises_anything_else(value):
    with deadline(2.0):
        for check, _ in VALIDATORS.values():
            try:
                check(value)
            except ValidationError:
                pass
        assert names.is_valid_component(value) is component_oracle(value)
        assert names.is_valid_path(value) is (
            0 < len(value) <= 255 and all(component_oracle(part) for part in value.split("/")))


def test_reserved_names_are_matched_in_any_case():
    assert names.is_reserved_name("portus") and names.is_reserved_name("Admin") and names.is_reserved_name(" ROOT ")
    assert not names.is_reserved_name("ivan") and not names.is_reserved_name(None)


def test_the_internal_name_is_the_internal_accounts():
    from accounts.models import User

    assert names.INTERNAL_NAME == User.INTERNAL_USERNAME
    assert names.INTERNAL_NAME in names.RESERVED_NAMES
