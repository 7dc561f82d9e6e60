"""Disconnects: N quiet streams from two client processes; one is SIGKILLed; time until released.

The kernel closes the killed process's sockets, so the server sees a FIN
on streams that are otherwise idle (PEER_BENCH D). Notice = SIGKILL ->
the server's own count of open streams down by the killed process's open
streams (polled every 20 ms; none when it had none open):
WalletDoctor's ``/health`` ``active_streams``, the peers' ``/stats``
(gunicorn workers: their count files). Memory freed = RSS before - RSS
``settle_s`` after the notice (negative: it grew).
"""

from __future__ import annotations

import functools
import time
from typing import Any

from bench.context import Bench
from bench.figures import mib
from bench.generators import GeneratorGroup
from bench.upstream import IDLE_WALLET

__all__ = ["run_disconnects"]

_NOTICE_TIMEOUT_S = 20.0


def run_disconnects(bench: Bench) -> dict[str, Any]:
    """The disconnect scenario against every server; ``{"rows": [...]}``."""
    rows = []
    for name in bench.servers:
        row = bench.measure("disconnects", name, functools.partial(_disconnect, bench, name))
        rows.append(row)
        if "error" in row:
            continue
        notice = row["notice_s"]
        told = "none" if notice is None else f"{notice:.2f} s"
        bench.say(f"disconnects {name}: active {row['active_before']} -> {row['active_after']}, notice {told}")
    return {"rows": rows}


def _disconnect(bench: Bench, name: str) -> dict[str, Any]:
    n = bench.preset.disconnect_streams
    server = bench.start(name, capacity=n)
    group: GeneratorGroup | None = None
    try:
        time.sleep(0.3)
        ramp_s = bench.preset.ramp_s(n)
        group = GeneratorGroup(
            bench.keeper, f"disconnects-{name}", port=server.port, paths=[server.idle_path(IDLE_WALLET)], n=n,
            processes=2, connect_limit=250, ramp_s=ramp_s, max_s=ramp_s + 300, source_base=30,
        )
        ramped = group.wait_ramped(ramp_s + 60)
        time.sleep(0.5)
        active_before = server.active_streams()
        before = server.usage()
        victim = group.generators[1]
        victim_open = ramped[1]["connected"]
        killed_at = time.monotonic()
        victim.kill()
        notice = None
        if active_before is not None and victim_open:
            notice = bench.wait_released(server, active_before - victim_open, _NOTICE_TIMEOUT_S, since=killed_at)
        at_notice = server.usage()
        active_after = server.active_streams()
        time.sleep(bench.preset.settle_s)
        later = server.usage()
        group.generators[0].close()
    finally:
        if group is not None:
            group.kill()
        bench.stop(server)
    return {
        "server": name,
        "streams": n,
        "connected": sum(r["connected"] for r in ramped),
        "killed_streams": victim.job.n,
        "killed_open": victim_open,
        "active_before": active_before,
        "notice_s": notice,
        "active_after": active_after,
        "rss_before_mib": mib(before.rss),
        "rss_at_notice_mib": mib(at_notice.rss),
        "rss_later_mib": mib(later.rss),
        "rss_freed_kb": (before.rss - later.rss) / 1024,
    }
