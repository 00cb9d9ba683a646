"""Every activity the code records reads as a sentence in the activity lists, not as a raw key."""

from __future__ import annotations

import re
from pathlib import Path

from web.templatetags.portus_activity import ACTIVITY_TEXTS

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "teams", "namespaces", "registries", "realm", "mirror", "api", "web", "activities", "twofactor")
_LITERAL = re.compile(r'activity_record\(\s*key="([a-z_]+\.[a-z_]+)"|key="([a-z_]+\.[a-z_]+)"')
# Keys built at run time, with every value they take.
_BUILT = {"namespace.private", "namespace.protected", "namespace.public", "user.change_email",
          "user.change_display_name", "user.change_admin", "user.change_password", "user.enabled", "user.disabled"}


def _recorded_keys() -> set[str]:
    keys = set(_BUILT)
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for match in _LITERAL.finditer(path.read_text()):
                keys.add(match.group(1) or match.group(2))
    return keys


def test_every_recorded_activity_has_a_sentence():
    keys = _recorded_keys()
    assert {"namespace.retire", "refresh_token.destroy", "user.create"} <= keys  # the scan finds them
    assert keys - set(ACTIVITY_TEXTS) == set()
