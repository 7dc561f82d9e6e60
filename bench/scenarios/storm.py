"""Connect storm: N clients connect at the same instant; time to the ``connected`` event.

Two generator processes start their connects at one agreed monotonic
instant, with no limit on connects in flight (PEER_BENCH B2). TTFE = from
a client issuing its connect to receiving ``connected``. Repeated
``storm_reps`` times on one server process; p50 and p99 are the medians of
the repetitions' values. All-connected = from the common start to the
last ``connected``. Server CPU-s = CPU the server spent from the start to
the last ``connected``.
"""

from __future__ import annotations

import functools
import statistics
import time
from typing import Any

from bench.context import Bench
from bench.figures import percentile
from bench.generators import GeneratorGroup
from bench.upstream import IDLE_WALLET

__all__ = ["run_storm"]

#: Time for the generator processes to start before the agreed instant, seconds.
_LEAD_S = 1.0


def run_storm(bench: Bench) -> dict[str, Any]:
    """The storm against every server; ``{"rows": [...], "ttfe_ms": {server: [...]}}``."""
    rows: list[dict[str, Any]] = []
    samples: dict[str, list[float]] = {}
    for name in bench.servers:
        row = bench.measure("storm", name, functools.partial(_storm, bench, name, samples))
        rows.append(row)
        if "error" in row:
            continue
        bench.say(f"storm {name}: {row['connected_min']}/{row['clients']} connected, "
                  f"TTFE p50 {row['ttfe_p50_ms']} ms p99 {row['ttfe_p99_ms']} ms")
    return {"rows": rows, "ttfe_ms": samples}


def _storm(bench: Bench, name: str, samples: dict[str, list[float]]) -> dict[str, Any]:
    preset = bench.preset
    clients = preset.storm_clients
    deadline_s = preset.storm_deadline_s
    server = bench.start(name, capacity=clients)
    reps: list[dict[str, Any]] = []
    pooled: list[float] = []
    try:
        time.sleep(0.5)
        for rep in range(preset.storm_reps):
            start_at = time.monotonic() + _LEAD_S
            group = GeneratorGroup(
                bench.keeper, f"storm-{name}-{rep}", port=server.port, paths=[server.idle_path(IDLE_WALLET)],
                n=clients, processes=2, connect_limit=None, start_at=start_at, ramp_s=deadline_s,
                max_s=deadline_s + 120, source_base=10 + rep,
            )
            try:
                time.sleep(max(0.0, start_at - time.monotonic() - 0.2))
                before = server.usage()
                group.wait_ramped(deadline_s + 60)
                after = server.usage()
                report = group.close()
            finally:
                group.kill()
            ttfe = [
                (c - r) * 1000 for r, c in zip(report["request_at"], report["connected_at"], strict=True) if c is not None
            ]
            last = max((c for c in report["connected_at"] if c is not None), default=None)
            reps.append({
                "connected": len(ttfe),
                "p50_ms": percentile(ttfe, 50),
                "p99_ms": percentile(ttfe, 99),
                "all_connected_ms": None if last is None else (last - start_at) * 1000,
                "server_cpu_s": after.cpu_s - before.cpu_s,
                "failures": report["failures"],
            })
            pooled.extend(ttfe)
            bench.wait_released(server, 0, 30.0, poll_s=0.1)
            time.sleep(0.5)
    finally:
        bench.stop(server)
    samples[name] = pooled
    return {
        "server": name,
        "clients": clients,
        "connected_min": min(r["connected"] for r in reps),
        "ttfe_p50_ms": _median(r["p50_ms"] for r in reps),
        "ttfe_p99_ms": _median(r["p99_ms"] for r in reps),
        "all_connected_ms": _median(r["all_connected_ms"] for r in reps),
        "server_cpu_s": _median(r["server_cpu_s"] for r in reps),
        "reps": reps,
    }


def _median(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None
