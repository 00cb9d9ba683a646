"""The bench's PNG: requests per second of each scenario beside the ceiling, and the 99th percentiles."""

from __future__ import annotations

from pathlib import Path


def draw(rows: list[dict], machine: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    timed = [r for r in rows if r.get("rps") is not None]
    scenarios = list(dict.fromkeys(r["scenario"] for r in timed))
    levels = sorted({r["concurrency"] for r in timed})
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 6), dpi=100)
    width = 0.8 / max(1, len(levels))
    for i, level in enumerate(levels):
        by_name = {r["scenario"]: r for r in timed if r["concurrency"] == level}
        xs = [j + i * width for j in range(len(scenarios))]
        left.bar(xs, [by_name.get(s, {}).get("rps", 0) for s in scenarios], width, label=f"{level} connections")
        right.bar(xs, [by_name.get(s, {}).get("p99_ms", 0) for s in scenarios], width, label=f"{level} connections")
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
