"""The bench's PNG: requests per second of each scenario beside the ceiling, the 99th percentiles, and the
push runs' latencies (push to notified and to visible) against the 2 s target."""

from __future__ import annotations

import statistics
from pathlib import Path


def _median(rows: list[dict] | None, key: str) -> float:
    return statistics.median(r[key] for r in rows) if rows else 0


def draw(rows: list[dict], machine: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    timed = [r for r in rows if r.get("rps") is not None]
    pushes = [r for r in rows if r.get("pushes")]
    scenarios = list(dict.fromkeys(r["scenario"] for r in timed))
    levels = sorted({r["concurrency"] for r in timed})
    if pushes:
        figure, (left, right, third) = plt.subplots(
            1, 3, figsize=(19, 6), dpi=100, gridspec_kw={"width_ratios": [3, 3, 1.3]})
        _push_panel(third, pushes)
    else:
        figure, (left, right) = plt.subplots(1, 2, figsize=(14, 6), dpi=100)
    width = 0.8 / max(1, len(levels))
    for i, level in enumerate(levels):
        runs: dict[str, list[dict]] = {}
        for r in timed:
            if r["concurrency"] == level:
                runs.setdefault(r["scenario"], []).append(r)
        xs = [j + i * width for j in range(len(scenarios))]
        # A scenario measured several times at a level (the ceiling, once beside each scenario): its median.
        left.bar(xs, [_median(runs.get(s), "rps") for s in scenarios], width, label=f"{level} connections")
        right.bar(xs, [_median(runs.get(s), "p99_ms") for s in scenarios], width, label=f"{level} connections")
    for axis, title in ((left, "requests (or events) per second"), (right, "p99 latency, ms")):
        axis.set_xticks([j + 0.4 - width / 2 for j in range(len(scenarios))])
        axis.set_xticklabels(scenarios, rotation=30, ha="right", fontsize=8)
        axis.set_title(title)
        axis.legend(fontsize=8)
        axis.grid(axis="y", alpha=0.3)
    right.set_yscale("log")
    figure.suptitle(f"Portus bench — {machine}", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


PUSH_TARGET_MS = 2000


def _push_panel(axis, pushes: list[dict]) -> None:
    names = [f"{r['scenario']}\n({r['pushes']} pushes, {r['concurrency']} at once)" for r in pushes]
    xs = range(len(pushes))
    axis.bar([x - 0.2 for x in xs], [r["p50_ms"] for r in pushes], 0.4, label="p50")
    axis.bar([x + 0.2 for x in xs], [r["p99_ms"] for r in pushes], 0.4, label="p99")
    axis.axhline(PUSH_TARGET_MS, color="grey", linestyle="--", linewidth=1, label="p99 target, 2 s")
    axis.set_xticks(list(xs))
    axis.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    axis.set_title("push, ms after skopeo exits")
    axis.legend(fontsize=8)
    axis.grid(axis="y", alpha=0.3)
