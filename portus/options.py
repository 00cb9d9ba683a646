"""Typed access to Portus's options (config/config.yml) at run time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings


def option(dotted: str) -> Any:
    """The value of one option, e.g. option("delete.enabled")."""
    node: Any = settings.PORTUS
    for key in dotted.split("."):
        node = node[key]
    return node


def enabled(section: str) -> bool:
    return bool(option(f"{section}.enabled"))


def data_path(raw: str) -> Path:
    """A configured path; relative ones are taken from the project's folder."""
    path = Path(raw)
    return path if path.is_absolute() else Path(settings.BASE_DIR) / path


def key_path() -> Path:
    return data_path(option("secrets.key_path"))


def certificate_path() -> Path:
    return data_path(option("secrets.certificate_path"))


def registry_tls_verify() -> bool | str:
    """What `requests` verifies a registry's certificate with: the configured CA bundle
    (`registry.ca_file`), the public CAs, or nothing when `registry.verify_tls` is off."""
    if not enabled("registry.verify_tls"):
        return False
    ca_file = option("registry.ca_file.value")
    return str(data_path(ca_file)) if ca_file.strip() else True
