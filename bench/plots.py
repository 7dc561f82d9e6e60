"""PNG plots of a run (matplotlib, Agg backend): memory and CPU against open streams, storm latency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after choosing the backend

from bench.figures import percentile

__all__ = ["draw_plots"]

_PERCENTILES = (50, 75, 90, 95, 99, 99.9, 100)
#: One colour per server in every plot.
_COLOURS = {"walletdoctor": "C0", "floor": "C1", "starlette": "C2", "flask-sync": "C3", "flask-gthread": "C4",
            "node": "C5"}


def _by_server(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if "skipped" not in row and "error" not in row:
            grouped.setdefault(row["server"], []).append(row)
    return grouped


def _idle_memory(out: Path, rows: list[dict[str, Any]]) -> Path:
    figure, (rss, per) = plt.subplots(1, 2, figsize=(11, 4.2))
    for server, levels in _by_server(rows).items():
        levels.sort(key=lambda r: r["C"])
        xs = [r["connected"] for r in levels]
        rss.plot(xs, [r["rss_holding_mib"] for r in levels], marker="o", label=server, color=_COLOURS.get(server))
        # A level that held under half its streams (sync workers: two) has no meaningful per-stream cost.
        held = [r for r in levels if r["connected"] >= r["C"] / 2 and r["kb_per_conn"] is not None]
        if held:
            per.plot([r["connected"] for r in held], [r["kb_per_conn"] for r in held], marker="o", label=server,
                     color=_COLOURS.get(server))
    rss.set(title="Server RSS while holding", xlabel="open streams (connected)", ylabel="MiB")
    per.set(title="RSS per open stream (levels that held at least half)", xlabel="open streams (connected)",
            ylabel="KB per stream")
    for axes in (rss, per):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    path = out / "idle_memory.png"
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _idle_cpu(out: Path, rows: list[dict[str, Any]]) -> Path:
    figure, axes = plt.subplots(figsize=(6.5, 4.2))
    for server, levels in _by_server(rows).items():
        levels.sort(key=lambda r: r["C"])
        axes.plot([r["connected"] for r in levels], [r["server_cpu_pct"] for r in levels], marker="o", label=server,
                  color=_COLOURS.get(server))
    axes.set(title="Server CPU while holding quiet streams", xlabel="open streams (connected)",
             ylabel="CPU % of one core")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    path = out / "idle_cpu.png"
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _storm_latency(out: Path, samples: dict[str, list[float]]) -> Path:
    figure, axes = plt.subplots(figsize=(7.5, 4.2))
    labels = [f"p{q:g}" if q < 100 else "max" for q in _PERCENTILES]
    for server, values in samples.items():
        if values:
            axes.plot(labels, [percentile(values, q) or 0.0 for q in _PERCENTILES], marker="o", label=server,
                      color=_COLOURS.get(server))
    axes.set(title="Connect storm: time to `connected` (all repetitions)", xlabel="percentile", ylabel="ms")
    axes.set_yscale("log")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8)
    path = out / "storm_latency.png"
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def draw_plots(out: Path, results: dict[str, Any]) -> list[Path]:
    """Draw the plots the results allow; returns the PNG paths."""
    paths = []
    idle_rows = results.get("idle", {}).get("rows", [])
    if any("skipped" not in r and "error" not in r for r in idle_rows):
        paths += [_idle_memory(out, idle_rows), _idle_cpu(out, idle_rows)]
    samples = results.get("storm", {}).get("ttfe_ms")
    if samples:
        paths.append(_storm_latency(out, samples))
    return paths
