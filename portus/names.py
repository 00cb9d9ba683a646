"""Validation of the names that end up in image references (namespaces, repositories, tags, users)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# Distribution's path-component grammar (reference/regexp.go).
COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*$")
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$", re.ASCII)
DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
MAX_NAMESPACE_LENGTH = 255


def validate_component(value: str) -> None:
    if not value or len(value) > MAX_NAMESPACE_LENGTH or not COMPONENT_RE.match(value):
        raise ValidationError(
            "Use lowercase letters and digits, separated by single '.', '_', '__' or dashes; "
            "no leading or trailing separator.",
            code="invalid_name",
        )


def validate_repository_name(value: str) -> None:
    if not value or len(value) > MAX_NAMESPACE_LENGTH:
        raise ValidationError("A repository name is 1 to 255 characters long.", code="invalid_name")
    for part in value.split("/"):
        validate_component(part)


def is_valid_component(value: str) -> bool:
    return bool(value) and len(value) <= MAX_NAMESPACE_LENGTH and bool(COMPONENT_RE.match(value))


def personal_namespace_name(username: str) -> str:
    """A Docker-valid namespace name for a user name (LDAP and OAuth names are not always valid)."""
    name = re.sub(r"[^a-z0-9._-]+", "_", username.lower())
    name = re.sub(r"[._-]{2,}", "_", name).strip("._-")
    return (name or "user")[:MAX_NAMESPACE_LENGTH]
