"""Settings for the test suite: the production settings with test secrets and a fast hasher."""

import os

os.environ.setdefault("PORTUS_SECRET_KEY_BASE", "test-secret-key-base-" + "0123456789" * 4)
os.environ.setdefault("PORTUS_FAST_PASSWORD_HASHER", "1")
os.environ.setdefault("PORTUS_PLAIN_STATIC", "1")
os.environ.setdefault("PORTUS_WEBHOOK_SECRET", "test-webhook-secret")
os.environ.setdefault("PORTUS_PASSWORD", "portus-internal-password")
os.environ.setdefault("PORTUS_MACHINE_FQDN", "portus.test.lan")
# Token requests read the authorization generation before each request, so that a test's change counts
# at its very next request; tests/token/test_generation_bound.py and the cross-process revocation test
# hold the shipped bound (config/config.yml, token_realm.generation_max_age_ms) on its own.
os.environ.setdefault("PORTUS_TOKEN_REALM_GENERATION_MAX_AGE_MS", "0")

from portus.settings import *  # noqa: E402,F403

ALLOWED_HOSTS = ["*"]
