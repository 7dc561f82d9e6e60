"""Connect storm: N clients connect at the same instant; time to the ``connected`` event.

Two generator processes start their connects at one agreed monotonic
instant, with no limit on connects in flight (PEER_BENCH B2). TTFE = from
a client issuing its connect to receiving ``connected``. Repeated
``storm_reps`` times on one process per server, the servers taking turns
(every server is up for the whole scenario, quiet when it is not the one
stormed); p50 and p99 are the medians of the repetitions' values. All-connected = from the common start to the
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
from bench.servers import RunningServer
from bench.upstream import IDLE_WALLET

__all__ = ["run_storm"]

#: Time for the generator processes to start before the agreed instant, seconds.
_LEAD_S = 1.0


def run_storm(bench: Bench) -> dict[str, Any]:
    """The storm against every server; ``{"rows": [...], "ttfe_ms": {server: [...]}}``.

    Every server is started first and stays up; the repetitions then go
    round the servers (rep 1 of each, then rep 2 of each, ...), so a slow
    minute of the shared machine falls on every server alike rather than on
    whichever server it happened to be measuring (bench/README.md, "Reading").
    """
    preset = bench.preset
    servers: dict[str, RunningServer] = {}
    reps: dict[str, list[dict[str, Any]]] = {name: [] for name in bench.servers}
    samples: dict[str, list[float]] = {name: [] for name in bench.servers}
    errors: dict[str, dict[str, Any]] = {}
    try:
        for name in bench.servers:
            started = bench.measure("storm", name, functools.partial(_start, bench, name, servers))
            if "error" in started:
                errors[name] = started
        time.sleep(0.5)
        for rep in range(preset.storm_reps):
            for name, server in list(servers.items()):
                result = bench.measure("storm", name, functools.partial(_repetition, bench, name, server, rep))
                if "error" in result:
                    errors[name] = result
                    bench.stop(servers.pop(name))
                    continue
                samples[name].extend(result.pop("ttfe_ms"))
                reps[name].append(result)
    finally:
        for server in servers.values():
            bench.stop(server)
    rows = [errors.get(name) or _row(name, preset.storm_clients, reps[name]) for name in bench.servers]
    for row in rows:
        if "error" not in row:
            bench.say(f"storm {row['server']}: {row['connected_min']}/{row['clients']} connected, "
                      f"TTFE p50 {row['ttfe_p50_ms']} ms p99 {row['ttfe_p99_ms']} ms")
    return {"rows": rows, "ttfe_ms": {name: samples[name] for name in bench.servers if name not in errors}}


def _start(bench: Bench, name: str, servers: dict[str, RunningServer]) -> dict[str, Any]:
    servers[name] = bench.start(name, capacity=bench.preset.storm_clients)
    return {"server": name}


def _repetition(bench: Bench, name: str, server: RunningServer, rep: int) -> dict[str, Any]:
    """One storm against ``server``: its figures, and every client's TTFE (ms) under ``ttfe_ms``."""
    preset = bench.preset
    deadline_s = preset.storm_deadline_s
    start_at = time.monotonic() + _LEAD_S
    group = GeneratorGroup(
        bench.keeper, f"storm-{name}-{rep}", port=server.port, paths=[server.idle_path(IDLE_WALLET)],
        n=preset.storm_clients, processes=2, connect_limit=None, start_at=start_at, ramp_s=deadline_s,
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
    bench.wait_released(server, 0, 30.0, poll_s=0.1)
    time.sleep(0.5)
    return {
        "connected": len(ttfe),
        "p50_ms": percentile(ttfe, 50),
        "p99_ms": percentile(ttfe, 99),
        "all_connected_ms": None if last is None else (last - start_at) * 1000,
        "server_cpu_s": after.cpu_s - before.cpu_s,
        "failures": report["failures"],
        "ttfe_ms": ttfe,
    }


def _row(name: str, clients: int, reps: list[dict[str, Any]]) -> dict[str, Any]:
    """A server's row: the medians of its repetitions' figures, and the repetitions."""
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
