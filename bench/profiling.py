"""Where WalletDoctor's CPU and memory go per stream (``python -m bench --profile``).

Separate runs from the measured ones, so the profilers do not distort the
figures:

- *idle CPU*: quiet streams held while py-spy samples the server (100 Hz,
  non-blocking, on the load CPU) for ``hold_s``;
- *fan-out CPU*: fan-out streams, py-spy for ``fanout_cap_s`` (at most 10 s);
- *memory*: the app under :mod:`bench.memory_harness` (tracemalloc), a
  snapshot before and after opening the quiet streams: Python bytes and
  live objects per stream, by allocation line and by type.

py-spy's raw output (collapsed stacks) is kept in ``<out>/profile/``;
the summary gives self time by function and by package, and the share of
samples spent under each WalletDoctor function (inclusive).
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.context import Bench
from bench.generators import LOAD_CPU, GeneratorGroup
from bench.probe import request_json
from bench.servers import RunningServer
from bench.upstream import FANOUT_WALLET, IDLE_WALLET

__all__ = ["profile_walletdoctor", "summarise_stacks"]

_RATE_HZ = 100
_TOP = 12


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise FileNotFoundError("py-spy is not installed (pip install -e '.[bench]')")
    return found


class _Recording:
    """py-spy sampling a server for ``duration_s``, started on construction."""

    def __init__(self, bench: Bench, server: RunningServer, label: str, duration_s: float) -> None:
        directory = bench.out_dir / "profile"
        directory.mkdir(exist_ok=True)
        self.path = directory / f"{label}.txt"
        self._bench, self._server = bench, server
        self._seconds = max(1, round(duration_s))
        self._before, self._started = server.usage(), time.monotonic()
        self._spy = bench.keeper.start(f"py-spy-{label}", [
            _py_spy(), "record", "--pid", str(server.process.pid), "--duration", str(self._seconds),
            "--rate", str(_RATE_HZ), "--format", "raw", "--output", str(self.path), "--nonblocking",
        ], cpu=LOAD_CPU)

    def finish(self) -> tuple[Path, float, float]:
        """Wait for the end of the sampling; (raw output, server CPU-s, wall s) over it."""
        self._spy.popen.wait(timeout=self._seconds + 60)
        after, ended = self._server.usage(), time.monotonic()
        self._bench.keeper.stop(self._spy)
        return self.path, after.cpu_s - self._before.cpu_s, ended - self._started


def _package(frame: str) -> str:
    location = frame.rsplit("(", 1)[-1]
    parts = location.split("/")
    if parts[0] == "walletdoctor" and len(parts) > 2:
        return f"walletdoctor.{parts[1]}"
    return parts[0].split(".py")[0].split(":")[0]


def summarise_stacks(path: Path, duration_s: float) -> dict[str, Any]:
    """Self time by function and package, and inclusive time of WalletDoctor functions, from py-spy's
    raw (collapsed) output; shares are of all samples the rate allows in ``duration_s`` (so they read
    as % of one core)."""
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        packages[_package(frames[-1])] += count
        for frame in set(frames):
            if "walletdoctor/" in frame:
                inclusive[frame] += count
    possible = max(1.0, duration_s * _RATE_HZ)

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / possible, 2)] for name, n in counter.most_common(_TOP)]

    return {"samples": total, "active_pct": round(100 * total / possible, 1), "self": share(own),
            "by_package": share(packages), "walletdoctor_inclusive": share(inclusive)}


def _idle_cpu(bench: Bench, streams: int) -> dict[str, Any]:
    preset = bench.preset
    server = bench.start("walletdoctor", capacity=streams)
    group: GeneratorGroup | None = None
    try:
        ramp_s = preset.ramp_s(streams)
        group = GeneratorGroup(bench.keeper, "profile-idle", port=server.port, paths=[server.idle_path(IDLE_WALLET)],
                               n=streams, processes=4, connect_limit=250, ramp_s=ramp_s, max_s=ramp_s + 600)
        group.wait_ramped(ramp_s + 60)
        path, cpu_s, wall_s = _Recording(bench, server, "idle", preset.hold_s).finish()
        group.close()
    finally:
        if group is not None:
            group.kill()
        bench.stop(server)
    heartbeats = streams * wall_s / preset.heartbeat_s
    return {"streams": streams, "server_cpu_s": cpu_s, "wall_s": wall_s,
            "cpu_us_per_heartbeat": 1e6 * cpu_s / heartbeats, "stacks": summarise_stacks(path, wall_s),
            "raw": str(path.relative_to(bench.out_dir))}


def _fanout_cpu(bench: Bench) -> dict[str, Any]:
    preset = bench.preset
    streams = preset.fanout_streams
    server = bench.start("walletdoctor", capacity=streams, setup="unthrottled")
    group: GeneratorGroup | None = None
    try:
        # Sampling from before the first request: the whole fetch and delivery.
        recording = _Recording(bench, server, "fanout", min(preset.fanout_cap_s, 10.0))
        time.sleep(1.0)
        group = GeneratorGroup(bench.keeper, "profile-fanout", port=server.port,
                               paths=[f"/v4/wallet/{FANOUT_WALLET}/stream?batch_size=100"], n=streams, processes=4,
                               connect_limit=250, ramp_s=preset.ramp_s(streams), max_s=600)
        path, cpu_s, wall_s = recording.finish()
        report = group.close()
    finally:
        if group is not None:
            group.kill()
        bench.stop(server)
    return {"streams": streams, "server_cpu_s": cpu_s, "wall_s": wall_s, "trades_events": sum(report["trades"]),
            "stacks": summarise_stacks(path, wall_s), "raw": str(path.relative_to(bench.out_dir))}


def _memory(bench: Bench, streams: int) -> dict[str, Any]:
    preset = bench.preset
    server = bench.start("walletdoctor", capacity=streams, command=[sys.executable, "-m", "bench.memory_harness"])
    group: GeneratorGroup | None = None
    try:
        time.sleep(0.5)
        request_json(f"{server.url}/_bench/memory?label=base", timeout_s=60)
        ramp_s = preset.ramp_s(streams) * 2  # tracemalloc slows every allocation
        group = GeneratorGroup(bench.keeper, "profile-memory", port=server.port,
                               paths=[server.idle_path(IDLE_WALLET)], n=streams, processes=4, connect_limit=250,
                               ramp_s=ramp_s, max_s=ramp_s + 600)
        connected = sum(r["connected"] for r in group.wait_ramped(ramp_s + 60))
        time.sleep(preset.heartbeat_s + 1)  # every stream past its first heartbeat
        diff = request_json(f"{server.url}/_bench/memory?base=base&label=held", timeout_s=120)
        group.close()
    finally:
        if group is not None:
            group.kill()
        bench.stop(server)
    per = max(connected, 1)
    return {
        "streams": connected,
        "traced_bytes_per_stream": diff["traced_bytes"] / per,
        "by_file": [[f, round(b / per), round(c / per, 2)] for f, b, c in diff["by_file"]],
        "by_line": [[f, round(b / per), round(c / per, 2)] for f, b, c in diff["by_line"]],
        "objects_per_stream": [[t, round(c / per, 2)] for t, c in diff["objects"]],
    }


def _markdown(profile: dict[str, Any]) -> str:
    lines: list[str] = []
    idle, fan, memory = profile.get("idle_cpu"), profile.get("fanout_cpu"), profile.get("memory")
    if idle:
        lines += [f"**Idle CPU** ({idle['streams']} quiet streams, {idle['wall_s']:.0f} s): server "
                  f"{idle['server_cpu_s']:.2f} CPU-s, {idle['cpu_us_per_heartbeat']:.0f} us per stream-heartbeat "
                  f"interval; py-spy active {idle['stacks']['active_pct']} % of one core.", "",
                  "| self time (function) | % of a core |", "|---|---:|"]
        lines += [f"| `{name}` | {pct} |" for name, pct in idle["stacks"]["self"]]
        lines += ["", "| self time by package | % of a core |", "|---|---:|"]
        lines += [f"| {name} | {pct} |" for name, pct in idle["stacks"]["by_package"]]
    if fan:
        lines += ["", f"**Fan-out CPU** ({fan['streams']} streams of the fan-out wallet, {fan['wall_s']:.0f} s, "
                  f"{fan['trades_events']} trades events delivered): server {fan['server_cpu_s']:.2f} CPU-s.", "",
                  "| self time (function) | % of a core |", "|---|---:|"]
        lines += [f"| `{name}` | {pct} |" for name, pct in fan["stacks"]["self"]]
        lines += ["", "| under WalletDoctor function (inclusive) | % of a core |", "|---|---:|"]
        lines += [f"| `{name}` | {pct} |" for name, pct in fan["stacks"]["walletdoctor_inclusive"]]
    if memory:
        lines += ["", f"**Memory** ({memory['streams']} quiet streams, tracemalloc): "
                  f"{memory['traced_bytes_per_stream'] / 1024:.1f} KB of Python allocations per stream.", "",
                  "| allocated at | bytes per stream | blocks per stream |", "|---|---:|---:|"]
        lines += [f"| `{where}` | {size} | {count} |" for where, size, count in memory["by_line"][:15]]
        lines += ["", "| live objects per stream (type) | count |", "|---|---:|"]
        lines += [f"| {kind} | {count} |" for kind, count in memory["objects_per_stream"][:15]]
    return "\n".join(lines)


def profile_walletdoctor(bench: Bench) -> dict[str, Any]:
    """Run the three profiles; ``{"idle_cpu", "fanout_cpu", "memory", "markdown"}`` (a failed part: its error)."""
    streams = min(max(bench.preset.idle_levels), 5000)
    profile: dict[str, Any] = {}
    for name, run in (("idle_cpu", lambda: _idle_cpu(bench, streams)), ("fanout_cpu", lambda: _fanout_cpu(bench)),
                      ("memory", lambda: _memory(bench, streams))):
        row = bench.measure("profile", name, run)
        if "error" in row:
            profile[f"{name}_error"] = row["error"]
        else:
            profile[name] = row
            bench.say(f"profile {name}: done")
    profile["markdown"] = _markdown(profile)
    return profile
