"""A smoke run of `manage.py bench` at tiny sizes, so that the benchmark cannot rot. Asserts that every
scenario ran and answered, and that the report files are written — nothing about speed."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_a_quick_bench_measures_every_scenario_and_writes_its_report(tmp_path):
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (scripts/install-system-packages)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTUS_")}
    env.update(PORTUS_SECRET_KEY_BASE="bench-test-" + "k" * 40, PORTUS_VAR_DIR=str(tmp_path / "var"),
               DJANGO_SETTINGS_MODULE="portus.settings")
    result = subprocess.run([sys.executable, "manage.py", "bench", "--quick", "--out", str(tmp_path / "out")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Machine: " in result.stdout and "gunicorn as shipped" in result.stdout

    reports = sorted((tmp_path / "out").glob("bench-*.json"))
    assert len(reports) == 1
    rows = json.loads(reports[0].read_text())["rows"]
    timed = {(r["scenario"], r["concurrency"]): r for r in rows if r.get("rps") is not None}
    paired = ["anonymous", "application token", "password, repeated", "refresh token",
              "anonymous, generation per request", "ingest, 1 event/POST", "ingest, 10 events/POST",
              "LDAP password, repeated"]
    expected = ["ceiling (bare sign)", *paired, "ingest ceiling, 1 event/POST", "ingest ceiling, 10 events/POST"]
    for scenario in expected:
        for level in (1, 4):
            row = timed[(scenario, level)]
            assert row["requests"] > 0 and row["failed"] == 0 and row["rps"] > 0, row
            assert row["p99_ms"] >= row["p50_ms"] > 0, row
            assert row["web_cpu_ms"] > 0, row
            if scenario in paired:  # compared with the ceiling measured beside it
                assert 0 < row["ratio"], row
    # Each scenario is compared with the ceiling it took turns with, at its own level: the row before it.
    ceilings = {"ingest, 1 event/POST": "ingest ceiling, 1 event/POST",
                "ingest, 10 events/POST": "ingest ceiling, 10 events/POST"}
    for index, row in enumerate(rows):
        if row["scenario"] in paired:
            before = rows[index - 1]
            assert before["scenario"] == ceilings.get(row["scenario"], "ceiling (bare sign)"), (before, row)
            assert before["concurrency"] == row["concurrency"] and before["turns"] == row["turns"] >= 1
            assert row["ratio"] == pytest.approx(row["rps"] / before["rps"]), (before, row)
    report = json.loads(reports[0].read_text())
    assert 0 <= report["steal"] < 1 and "steal, /proc/stat" in result.stdout
    push = next(r for r in rows if r["scenario"] == "push to visible")
    assert push["pushes"] == push["visible"] == 8 and not push["problems"] and push["p99_ms"] > 0
    assert "Push to visible" in result.stdout
    floor = next(r for r in rows if r["scenario"] == "push to notified, bare receiver (floor)")
    # The registry may notify before skopeo has exited: then a push's time to notified is below zero.
    assert floor["pushes"] == floor["visible"] == 8 and not floor["problems"]
    assert math.isfinite(floor["p50_ms"]) and floor["p99_ms"] >= floor["p50_ms"]
    assert "background" not in floor["cores_busy"]  # nothing of Portus's inbox runs beside the floor
    assert "Push to notified, the registry's floor" in result.stdout
    pages = [r for r in rows if r["scenario"] == "pages at 30 repositories"]
    assert pages and pages[0]["p95_ms"] > 0 and pages[0]["max_queries"] > 0

    png = reports[0].with_suffix(".png")
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width >= 800 and height >= 400
