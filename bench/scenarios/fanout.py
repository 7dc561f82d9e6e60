"""Fan-out: N streams each receive E ``trades`` events of WalletDoctor's size; events/s delivered.

WalletDoctor streams a synthetic wallet of exactly ``E x 100`` trades at
``batch_size=100`` (5,000 trades, 50 events), the emulator at zero latency
and no rate limit, except that the first signatures page of every stream
takes ``fanout_delay_s`` (then the emulator is switched to zero latency
for every later request): the streams are all open before data flows.
Each stream fetches the wallet on its own until streams of the same wallet
share one fetch. The peers send E pre-baked frames of the same size
``fanout_delay_s`` after each stream's request, and end the response.

Each server runs ``fanout_reps`` times, a fresh process each, the servers
taking turns; its row is the run with the median events/s, with every
run's events/s beside it (``events_per_s_reps``).

Window = from the first request + ``fanout_delay_s`` to the last
``trades`` event received; events/s and MB/s (10^6 bytes, SSE and HTTP
framing included) over it. A run longer than ``fanout_cap_s`` is cut and
reports what was delivered by then. Server CPU-s per GB is the cost
measure that stays meaningful when the clients, not the server, limit
the rate (PEER_BENCH C).
"""

from __future__ import annotations

import functools
import time
import urllib.request
from typing import Any

from bench.context import Bench
from bench.figures import mib
from bench.generators import GeneratorGroup
from bench.processes import Sampler, tree_usage
from bench.servers import RunningServer
from bench.upstream import FANOUT_WALLET, FANOUT_WALLET_SIZE, FANOUT_WALLET_TRADES

__all__ = ["DEFAULT_FRAME_BYTES", "run_fanout"]

#: Mean ``trades`` frame of the fan-out wallet, measured when WalletDoctor is
#: not part of the run to measure it (100 trades of about 500 bytes each).
DEFAULT_FRAME_BYTES = 50_150
_PROCESSES = 4


def run_fanout(bench: Bench) -> dict[str, Any]:
    """The fan-out against every server; ``{"rows": [...], "frame_bytes": ...}``.

    The runs go round the servers (run 1 of each, then run 2 of each, ...),
    so a slow minute of the shared machine falls on every server alike.
    """
    frame_bytes = DEFAULT_FRAME_BYTES
    frame_source = "default (WalletDoctor not in this run)"
    servers = list(bench.servers)
    if "walletdoctor" in servers:
        # WalletDoctor first: its frames set the size the peers send.
        servers.remove("walletdoctor")
        servers.insert(0, "walletdoctor")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    errors: dict[str, dict[str, Any]] = {}
    measured: list[int] = []
    for _ in range(bench.preset.fanout_reps):
        for name in servers:
            if name in errors:
                continue
            if name == "walletdoctor":
                row = bench.measure("fanout", name, lambda: _walletdoctor(bench, measured))
                if measured and measured[0] > 0:
                    frame_bytes = measured[0]
                    frame_source = "measured: mean trades frame of WalletDoctor in this run"
            else:
                row = bench.measure("fanout", name, functools.partial(_peer, bench, name, frame_bytes))
            if "error" in row:
                errors[name] = row
            else:
                runs[name].append(row)
    rows = [errors.get(name) or _median_run(runs[name]) for name in servers]
    for row in rows:
        _say(bench, row)
    return {"rows": rows, "frame_bytes": frame_bytes, "frame_bytes_source": frame_source}


def _median_run(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The row of the median events/s among one server's runs, with every run's events/s."""
    rows = sorted(rows, key=lambda row: row["events_per_s"])
    median = rows[(len(rows) - 1) // 2]
    return median | {"events_per_s_reps": [row["events_per_s"] for row in rows]}


def _peer(bench: Bench, name: str, frame_bytes: int) -> dict[str, Any]:
    preset = bench.preset
    server = bench.start(name, capacity=preset.fanout_streams)
    try:
        path = server.fanout_path(
            FANOUT_WALLET, events=preset.fanout_events, size=frame_bytes, delay_s=preset.fanout_delay_s
        )
        return _deliver(bench, server, path, emulator=False)
    finally:
        bench.stop(server)


def _say(bench: Bench, row: dict[str, Any]) -> None:
    if "error" in row:
        return
    reps = ", ".join(f"{eps:.0f}" for eps in row["events_per_s_reps"])
    bench.say(f"fanout {row['server']}: {row['events']}/{row['events_expected']} events in "
              f"{row['window_s']:.2f} s, {row['events_per_s']:.0f} events/s (runs: {reps}), {row['mb_per_s']:.0f} MB/s, "
              f"server CPU {row['server_cpu_pct']:.0f} %")


def _walletdoctor(bench: Bench, measured: list[int]) -> dict[str, Any]:
    assert bench.emulator is not None
    server = bench.start("walletdoctor", capacity=bench.preset.fanout_streams, setup="unthrottled")
    try:
        path = server.fanout_path(FANOUT_WALLET, events=0, size=0, delay_s=0)
        frame_bytes, batches, trades = probe_trades_frames(server.url + path)
        measured.append(frame_bytes)
        if batches != bench.preset.fanout_events or trades != FANOUT_WALLET_TRADES:
            bench.notes.append(f"fan-out wallet gave {batches} trades events / {trades} trades, "
                               f"not {bench.preset.fanout_events} / {FANOUT_WALLET_TRADES}")
        bench.emulator.configure(rpc_latency_s=bench.preset.fanout_delay_s)
        row = _deliver(bench, server, path, emulator=True)
        row["probe"] = {"frame_bytes": frame_bytes, "trades_events": batches, "trades": trades,
                        "wallet_transactions": FANOUT_WALLET_SIZE}
    finally:
        bench.stop(server)
    return row


def probe_trades_frames(url: str) -> tuple[int, int, int]:
    """Read one whole stream; (mean ``trades`` frame bytes, ``trades`` events, trades in them)."""
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read()
    sizes, trades = [], 0
    for frame in body.split(b"\n\n"):
        if b"\nevent: trades\n" in b"\n" + frame:
            sizes.append(len(frame) + 2)
            trades += frame.count(b'"signature":')
    return (round(sum(sizes) / len(sizes)) if sizes else 0), len(sizes), trades


def _deliver(bench: Bench, server: RunningServer, path: str, *, emulator: bool) -> dict[str, Any]:
    preset = bench.preset
    n, events = preset.fanout_streams, preset.fanout_events
    time.sleep(0.5)
    before = server.usage()
    # A stream not connected when the data starts is given up: the window
    # measures delivery to open streams (sync workers hold two at a time).
    ramp_s = preset.fanout_delay_s
    group = GeneratorGroup(
        bench.keeper, f"fanout-{server.name}", port=server.port, paths=[path], n=n, processes=_PROCESSES,
        connect_limit=250, ramp_s=ramp_s, exit_when_done=True,
        max_s=preset.fanout_delay_s + preset.fanout_cap_s, source_base=20,
    )
    pids = {"server": server.process.pid} | {g.name: g.process.pid for g in group.generators}
    if emulator and bench.emulator is not None:
        pids["emulator"] = bench.emulator.process.pid
    patched_late = False
    try:
        with Sampler(pids, interval_s=0.1, max_s=preset.fanout_delay_s + preset.fanout_cap_s + ramp_s + 60) as sampler:
            ramped = group.wait_ramped(ramp_s + 60)
            if emulator and bench.emulator is not None:
                bench.emulator.configure(rpc_latency_s=0.0)
                first = min(r["started_at"] for r in ramped)
                patched_late = time.monotonic() > first + preset.fanout_delay_s
            report = group.wait_done(preset.fanout_delay_s + preset.fanout_cap_s + 60)
    finally:
        group.close()
    requests = [t for t in report["request_at"] if t]
    start = min(requests) + preset.fanout_delay_s
    lasts = [t for t in report["last_trades_at"] if t is not None]
    delivered = sum(report["trades"])
    cut = bool(report["notes"])
    # A run cut before every event arrived delivered what it did by the cap.
    end = report["now"] if not lasts or (cut and delivered < n * events) else max(lasts)
    window = max(end - start, 1e-6)
    total_bytes = sum(report["nbytes"])
    connected_in_time = sum(1 for t in report["connected_at"] if t is not None and t <= start)
    usage = {name: _between(samples, start, end) for name, samples in sampler.samples.items()}
    clients_cpu = sum(v["cpu_s"] for k, v in usage.items() if k.startswith("fanout-"))
    server_cpu = usage["server"]["cpu_s"]
    return {
        "server": server.name,
        "streams": n,
        "events_expected": n * events,
        "events": delivered,
        "streams_complete": sum(1 for c in report["trades"] if c >= events),
        "connected_before_start": connected_in_time,
        "window_s": window,
        "cut": cut,
        "events_per_s": delivered / window,
        "mb_per_s": total_bytes / 1e6 / window,
        "bytes": total_bytes,
        "server_cpu_pct": 100 * server_cpu / window,
        "client_cpu_pct": 100 * clients_cpu / window,
        "emulator_cpu_pct": 100 * usage["emulator"]["cpu_s"] / window if "emulator" in usage else None,
        "server_cpu_s_per_gb": server_cpu / (total_bytes / 1e9) if total_bytes else None,
        "rss_before_mib": mib(before.rss),
        "rss_peak_mib": mib(max(sampler.peak_rss("server"), tree_usage(server.process.pid).rss)),
        "upstream_patched_late": patched_late,
        "failures": report["failures"],
    }


def _between(samples: list[tuple[float, Any]], start: float, end: float) -> dict[str, float]:
    """CPU seconds spent between two instants, from the samples nearest to them."""
    samples = [s for s in samples if s[1].processes > 0]  # a generator that exited reads as zero
    if not samples:
        return {"cpu_s": 0.0}
    first = min(samples, key=lambda s: abs(s[0] - start))[1]
    last = min(samples, key=lambda s: abs(s[0] - end))[1]
    return {"cpu_s": max(0.0, last.cpu_s - first.cpu_s)}
