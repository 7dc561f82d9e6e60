"""Idle capacity: hold C quiet streams, count heartbeats, weigh memory and CPU per stream.

For each server and each level C (a fresh server per level): open C
streams over 4 generator processes (at most 250 connects in flight each,
as PEER_BENCH A), hold them ``hold_s`` after the last one connected, then
reset them all and time how long the server takes to count them gone.

KB/conn = (RSS while holding - RSS before) / connected. CPU % = server CPU
seconds / wall seconds over the hold (100 % = one core). A server that
connects fewer than half its streams at one level is not tried at the
next (sync workers serve two streams at a time).
"""

from __future__ import annotations

import functools
import time
from typing import Any

from bench.context import Bench
from bench.figures import mib, tally_heartbeats
from bench.generators import GeneratorGroup
from bench.processes import tree_usage
from bench.upstream import IDLE_WALLET

__all__ = ["run_idle"]

_PROCESSES = 4


def run_idle(bench: Bench) -> dict[str, Any]:
    """Every idle level for every server; ``{"rows": [...]}``, one row per server and level."""
    rows: list[dict[str, Any]] = []
    for name in bench.servers:
        skip: str | None = None
        for level in bench.preset.idle_levels:
            if skip is not None:
                rows.append({"server": name, "C": level, "skipped": skip})
                continue
            row = bench.measure("idle", name, functools.partial(_level, bench, name, level))
            rows.append(row)
            if "error" in row:
                skip = f"failed at C={level}"
                continue
            bench.say(
                f"idle {name} C={level}: connected {row['connected']}, hb late {row['late']} missed "
                f"{row['missed']}, {row['kb_per_conn']:.1f} KB/conn, CPU {row['server_cpu_pct']:.1f} %"
            )
            if row["connected"] < level / 2:
                skip = f"connected {row['connected']} of {level} at C={level}"
    return {"rows": rows}


def _level(bench: Bench, name: str, level: int) -> dict[str, Any]:
    preset = bench.preset
    server = bench.start(name, capacity=level)
    group: GeneratorGroup | None = None
    try:
        time.sleep(0.5)
        before = server.usage()
        ramp_s = preset.ramp_s(level)
        group = GeneratorGroup(
            bench.keeper, f"idle-{name}-{level}", port=server.port, paths=[server.idle_path(IDLE_WALLET)],
            n=level, processes=_PROCESSES, connect_limit=250, ramp_s=ramp_s,
            max_s=ramp_s + preset.hold_s + 300,
        )
        ramped = group.wait_ramped(ramp_s + 60)
        started = min(r["started_at"] for r in ramped)
        hold_from = max(r["ramped_at"] for r in ramped)
        usage_from = server.usage()
        clients_from = sum(tree_usage(g.process.pid).cpu_s for g in group.generators)
        time.sleep(max(0.0, hold_from + preset.hold_s - time.monotonic()))
        holding = server.usage()
        clients_to = sum(tree_usage(g.process.pid).cpu_s for g in group.generators)
        hold_to = time.monotonic()
        report = group.report()
        closed_at = time.monotonic()
        group.close()
        gone_s = bench.wait_released(server, 0, 30.0, poll_s=0.05, since=closed_at)
        after = server.usage()
    finally:
        if group is not None:
            group.kill()
        bench.stop(server)
    connected = sum(1 for t in report["connected_at"] if t is not None)
    beats = tally_heartbeats(
        report["connected_at"], report["heartbeats"], interval_s=preset.heartbeat_s, late_s=preset.late_s,
        window_end=hold_to,
    )
    wall = hold_to - hold_from
    return {
        "server": name,
        "C": level,
        "connected": connected,
        "failed": level - connected,
        "failures": report["failures"],
        "hb_received": beats.received,
        "hb_expected": beats.expected,
        "late": beats.late,
        "missed": beats.missed,
        "max_lateness_s": beats.max_lateness_s,
        "rss_before_mib": mib(before.rss),
        "rss_holding_mib": mib(holding.rss),
        "kb_per_conn": (holding.rss - before.rss) / 1024 / connected if connected else None,
        "server_cpu_pct": 100 * (holding.cpu_s - usage_from.cpu_s) / wall,
        "client_cpu_pct": 100 * (clients_to - clients_from) / wall,
        "idle_cpu_us_per_heartbeat": (
            1e6 * (holding.cpu_s - usage_from.cpu_s) / (connected * wall / preset.heartbeat_s) if connected else None
        ),
        "ramp_s": hold_from - started,
        "hold_s": wall,
        "rss_after_close_mib": mib(after.rss),
        "gone_after_close_s": gone_s,
    }
