"""Settings for the test suite: the production settings with test secrets and a fast hasher."""

import os

os.environ.setdefault("PORTUS_SECRET_KEY_BASE", "test-secret-key-base-" + "0123456789" * 4)
os.environ.setdefault("PORTUS_FAST_PASSWORD_HASHER", "1")
os.environ.setdefault("PORTUS_PLAIN_STATIC", "1")
os.environ.setdefault("PORTUS_WEBHOOK_SECRET", "test-webhook-secret")
os.environ.setdefault("PORTUS_PASSWORD", "portus-internal-password")
os.environ.setdefault("PORTUS_MACHINE_FQDN", "portus.test.lan")

from portus.settings import *  # noqa: E402,F403

ALLOWED_HOSTS = ["*"]
