"""The grammar of every name in an image reference (users, namespaces, repositories, tags, digests), and the
names nobody may take. The one place these rules live: the models, forms, services, the token endpoint's
scope parser and the webhook inbox all use it.

Distribution's reference grammar (distribution/reference/regexp.go), written so that Python's backtracking
engine is linear on every input:
- a path component's separator is `-+`, not Distribution 2.8's `[-]*`: the same language (an empty separator
  only joins two alphanumeric runs into one), but `[-]*` inside `(...)*` lets `a…a!` be split in 2^n ways.
  Distribution itself switched to `[-]+` later;
- runs of one character class are possessive (`++`, `*+`), so a failed match never gives characters back;
- every pattern is anchored with `\\A…\\Z`, so `.match()` is a full match (`$` would accept a trailing
  newline: `ivan\\n` was a valid user name).
Lengths are checked before any pattern runs.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

MAX_NAME_LENGTH = 255  # Distribution's NameTotalLengthMax: a whole repository name, domain included.
MAX_NAMESPACE_LENGTH = MAX_NAME_LENGTH
MAX_TAG_LENGTH = 128
MAX_DIGEST_LENGTH = 160  # sha256: 71 characters, sha512: 135 (Tag.digest holds 160)

COMPONENT = r"[a-z0-9]++(?:(?:[._]|__|-++)[a-z0-9]++)*+"
_DOMAIN_PART = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*+(?<=[a-zA-Z0-9]))?+"
DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*+|\[[a-fA-F0-9:]++\])(?::[0-9]++)?+"
PATH = rf"{COMPONENT}(?:/{COMPONENT})*+"

COMPONENT_RE = re.compile(rf"\A{COMPONENT}\Z")
PATH_RE = re.compile(rf"\A{PATH}\Z")
# A repository as a client names it: an optional registry host, then the path (`host:5000/team/app`).
REPOSITORY_NAME_RE = re.compile(rf"\A(?:{DOMAIN}/)?{PATH}\Z")
TAG_RE = re.compile(r"\A[\w][\w.-]{0,127}+\Z", re.ASCII)
# OCI's digest grammar: algorithm components joined by [+._-], a colon, the encoded hash.
DIGEST_RE = re.compile(r"\A[a-z0-9]++(?:[+._-][a-z0-9]++)*+:[a-zA-Z0-9=_-]{32,}+\Z")

COMPONENT_HELP = ("Use lowercase letters and digits, separated by single '.', '_', '__' or dashes; "
                  "no leading or trailing separator.")

# The internal account's name (accounts.models.User.INTERNAL_USERNAME): only `manage.py create_api_account`
# creates it.
INTERNAL_NAME = "portus"
# Names a user would take for the service's own, or for its administrators'. User names and namespace names
# share one name space (a user's personal namespace carries their name), so both are checked against this.
RESERVED_NAMES = frozenset({
    INTERNAL_NAME, "admin", "administrator", "administrators", "root", "superuser", "sysadmin", "system",
    "registry", "docker", "api", "v1", "v2", "token", "auth", "webhooks", "users", "user", "teams",
    "namespaces", "repositories", "tags", "explore", "search", "dashboard", "help", "about", "support",
    "security", "static", "global", "personal",
})


def _fits(value: object, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def is_valid_component(value: str) -> bool:
    """One path component: a user name, a namespace name, one segment of a repository name."""
    return _fits(value, MAX_NAMESPACE_LENGTH) and COMPONENT_RE.match(value) is not None


def is_valid_path(value: str) -> bool:
    """Components joined by `/`, as the registry stores a repository (`team/group/app`), no domain."""
    return _fits(value, MAX_NAME_LENGTH) and PATH_RE.match(value) is not None


def is_valid_reference_name(value: str) -> bool:
    """A repository name as a client may write it, with an optional domain (`host:5000/team/app`)."""
    return _fits(value, MAX_NAME_LENGTH) and REPOSITORY_NAME_RE.match(value) is not None


def is_valid_tag(value: str) -> bool:
    return _fits(value, MAX_TAG_LENGTH) and TAG_RE.match(value) is not None


def is_valid_digest(value: str) -> bool:
    return _fits(value, MAX_DIGEST_LENGTH) and DIGEST_RE.match(value) is not None


def is_reserved_name(value: str) -> bool:
    """Whether the name is one of RESERVED_NAMES, in any case."""
    return isinstance(value, str) and value.strip().lower() in RESERVED_NAMES


def validate_component(value: str) -> None:
    if not is_valid_component(value):
        raise ValidationError(COMPONENT_HELP, code="invalid_name")


def validate_repository_name(value: str) -> None:
    """The part of a repository's name after its namespace (may hold slashes: `group/app`)."""
    if not _fits(value, MAX_NAME_LENGTH):
        raise ValidationError("A repository name is 1 to 255 characters long.", code="invalid_name")
    if not is_valid_path(value):
        raise ValidationError(COMPONENT_HELP, code="invalid_name")


def personal_namespace_name(username: str) -> str:
    """A Docker-valid namespace name for a user name (LDAP and OAuth names are not always valid)."""
    name = re.sub(r"[^a-z0-9._-]+", "_", username.lower())
    name = re.sub(r"[._-]{2,}", "_", name).strip("._-")
    return (name or "user")[:MAX_NAMESPACE_LENGTH]


def split_repository_name(name: str) -> tuple[str, str]:
    """(namespace, repository): `app` → ("", "app") (global namespace), `a/b/c` → ("a", "b/c").

    The first path component is always the namespace, even when it looks like a host (`john.doe`,
    `localhost`, `host:5000`): a scope names the repository as the registry stores it, and clients strip
    their registry's host before asking, so a leading host-like component is part of the stored name.
    Stripping it would file `john.doe/app` under the global namespace. Callers must still check that
    the namespace is a valid name (`host:5000` is not)."""
    namespace, sep, rest = name.partition("/")
    return (namespace, rest) if sep else ("", name)


def split_domain(name: str) -> tuple[str, str]:
    """(domain, remainder) by the Docker CLI's rule: the first component is a domain when it contains
    `.` or `:` or is `localhost`. For display of image references only, never for authorisation."""
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return "", name
