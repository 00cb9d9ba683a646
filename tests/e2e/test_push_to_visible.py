"""Two web instances and two background processes on one database, the registry notifying both, skopeo
pushing many images at once: every push visible once, no duplicate rows, no lost or failed event, no
deadlock (bench/push.py; `manage.py bench --only push` runs the full size and reports the latencies)."""

from __future__ import annotations

import sys

from bench.push import run
from tests.e2e.conftest import ROOT, _e2e_database
from tests.e2e.support import services


def test_concurrent_pushes_through_two_webs_and_two_backgrounds_are_each_visible_once(tmp_path_factory):
    root = tmp_path_factory.mktemp("push")
    database_url, drop = _e2e_database(root, "push")
    env = services.client_env({
        "DATABASE_URL": database_url,
        "PORTUS_SECRET_KEY_BASE": "push-secret-key-base-" + "x" * 40,
        "PORTUS_MACHINE_FQDN": "portus.push.test",
        "PORTUS_KEY_PATH": str(root / "portus.key"),
        "PORTUS_CERTIFICATE_PATH": str(root / "portus.crt"),
        "PORTUS_PASSWORD": "push-internal-password",
        "PORTUS_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PORTUS_PLAIN_STATIC": "1",
        "PORTUS_VAR_DIR": str(root / "var"),
        "GUNICORN_WORKERS": "2",
        "DJANGO_SETTINGS_MODULE": "portus.settings",
        "PYTHONPATH": str(ROOT),
    })
    try:
        services.run([sys.executable, "manage.py", "migrate", "--noinput"], env=env, cwd=ROOT)
        result = run(root, env, pushes=24, concurrency=12)
    finally:
        drop()
    assert not result.problems, "\n".join(result.problems)
    assert len(result.latencies) == 24, result.summary()
    assert result.rows["tags"] == 24 and result.rows["duplicate_tags"] == 0
    # The CPU the pushes cost, by part: every part was seen working.
    assert {"machine", "skopeo", "web", "background", "registry"} <= set(result.cpu), result.cpu
    assert all(result.cpu[part] > 0 for part in ("machine", "skopeo", "web", "background", "registry")), result.cpu
    print(result.summary())
