"""Streams through network faults: every stream completes, no trade lost, none delivered twice.

Clients (``walletdoctor.client.WalletStream``) reach the server through the
fault-injecting proxy (:mod:`tests.resilience.proxy`); each scenario is
scored against an uninterrupted run (:mod:`tests.resilience.harness`) and its
figures are written to ``test-output/resilience.json``.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import Emulator, ServerFactory, empty_redis, wallet_address
from tests.resilience.harness import (
    ScenarioResult,
    follow_all,
    record,
    reference_signatures,
    score,
)
from tests.resilience.proxy import SLOW_LINK, FaultProxy
from tests.servers import Process, start_emulator_process, start_serve_process

#: Settings of the server under test: short heartbeats and retry hint, no per-key limits in the way.
SERVER = {
    "heartbeat_s": 1.0,
    "retry_ms": 200,
    "rate_limit_per_minute": 100_000,
    "max_streams_per_key": 1000,
    "parse_window": 2,
}


def assert_no_loss(result: ScenarioResult) -> None:
    assert result.errors == []
    assert result.completed == result.streams
    assert result.trades_lost == 0
    assert result.trades_duplicated == 0
    assert result.out_of_order == 0


@pytest.fixture
async def proxied(emulator: Emulator, walletdoctor: ServerFactory) -> AsyncIterator[tuple[str, FaultProxy]]:
    """A WalletDoctor server (base URL) and a fault proxy in front of it."""
    emulator.settings.update({"enhanced_latency_s": 0.15, "rpc_latency_s": 0.02})
    base = await walletdoctor(**SERVER)
    host, port = base.removeprefix("http://").split(":")
    async with FaultProxy(host, int(port), seed=5) as proxy:
        yield base, proxy


def first_trades() -> tuple[asyncio.Event, Any]:
    seen = asyncio.Event()
    return seen, seen.set


async def test_slow_link(emulator: Emulator, proxied: tuple[str, FaultProxy]) -> None:
    base, proxy = proxied
    wallet = emulator.synthetic("resilience-slow", 300)
    reference = await reference_signatures(base, wallet)
    proxy.shape(SLOW_LINK)
    runs = await follow_all(proxy.url, wallet, 4)
    result = score("slow_link", reference, runs, {"bandwidth_bps": SLOW_LINK.bandwidth_bps, "latency_s": SLOW_LINK.latency_s})
    record(result)
    assert_no_loss(result)


async def test_stall(emulator: Emulator, proxied: tuple[str, FaultProxy]) -> None:
    base, proxy = proxied
    wallet = emulator.synthetic("resilience-stall", 1500)
    reference = await reference_signatures(base, wallet)
    seen, on_trades = first_trades()

    async def stall() -> None:
        await seen.wait()
        proxy.stall()
        await asyncio.sleep(4)
        proxy.unstall()

    fault = asyncio.create_task(stall())
    runs = await follow_all(proxy.url, wallet, 5, on_trades=on_trades, stall_timeout_s=2.5, connect_timeout_s=2.0)
    await fault
    result = score("stall", reference, runs, {"stall_s": 4, "client_stall_timeout_s": 2.5})
    record(result)
    assert_no_loss(result)
    assert result.reconnects >= 5, "every stream noticed the stall"


async def test_a_tenth_of_connections_reset_mid_stream(emulator: Emulator, proxied: tuple[str, FaultProxy]) -> None:
    base, proxy = proxied
    wallet = emulator.synthetic("resilience-resets", 1500)
    reference = await reference_signatures(base, wallet)
    proxy.reset_share(0.10, after_bytes=(2_000, 400_000))
    runs = await follow_all(proxy.url, wallet, 30)
    result = score("resets_10_percent", reference, runs, {"share": 0.10, "resets": proxy.counters.reset, "connections": proxy.counters.accepted})
    record(result)
    assert_no_loss(result)
    assert proxy.counters.reset > 0


async def test_network_handoff(emulator: Emulator, proxied: tuple[str, FaultProxy]) -> None:
    base, proxy = proxied
    wallet = emulator.synthetic("resilience-handoff", 1500)
    reference = await reference_signatures(base, wallet)
    seen, on_trades = first_trades()

    async def handoff() -> None:
        await seen.wait()
        await proxy.handoff(3.0)

    fault = asyncio.create_task(handoff())
    runs = await follow_all(proxy.url, wallet, 10, on_trades=on_trades)
    await fault
    result = score("network_handoff", reference, runs, {"refuse_s": 3.0, "cut": proxy.counters.cut})
    record(result)
    assert_no_loss(result)
    assert proxy.counters.cut > 0
    assert result.reconnect_p50_s is not None and result.reconnect_p50_s >= 3.0, "nothing got through while refused"


async def test_reconnect_storms(emulator: Emulator, proxied: tuple[str, FaultProxy]) -> None:
    base, proxy = proxied
    wallet = emulator.synthetic("resilience-storm", 1500)
    reference = await reference_signatures(base, wallet)
    seen, on_trades = first_trades()

    async def storms() -> None:
        await seen.wait()
        for _ in range(4):
            await proxy.handoff(0.1)  # every client at once, four times over
            await asyncio.sleep(0.4)

    fault = asyncio.create_task(storms())
    runs = await follow_all(proxy.url, wallet, 40, on_trades=on_trades)
    await fault
    result = score("reconnect_storms", reference, runs, {"storms": 4, "cut": proxy.counters.cut})
    record(result)
    assert_no_loss(result)
    assert proxy.counters.cut >= 40


async def test_a_killed_worker_with_two_workers_and_redis(tmp_path: Path, redis_url: str) -> None:
    wallet = wallet_address("resilience-killed-worker")
    emulator = start_emulator_process(
        tmp_path / "emulator.log", "--synthetic", f"{wallet}=3000", "--enhanced-latency", "0.15", "--rpc-latency", "0.02"
    )
    server: Process | None = None
    try:
        server = start_serve_process(
            tmp_path / "serve.log",
            WEB_CONCURRENCY="2",
            REDIS_URL=redis_url,
            HELIUS_API_KEY="test-key",
            HELIUS_API_URL=emulator.url,
            HELIUS_RPC_URL=emulator.url,
            HEARTBEAT_S="1",
            RETRY_MS="200",
            FEED_OWNER_TTL_S="2",
            PARSE_WINDOW="2",
            RATE_LIMIT_PER_MINUTE="100000",
            MAX_STREAMS_PER_KEY="1000",
        )
        reference = await reference_signatures(server.url, wallet)
        # The reference run left the history in Redis, from where the streams would finish in
        # well under a second; emptied, they fetch it again and the kill strikes mid-fetch.
        await empty_redis(redis_url)
        workers = _children(server.pid)
        assert len(workers) == 2, workers
        seen, on_trades = first_trades()
        killed: dict[str, int] = {}

        async def kill_one() -> None:
            await seen.wait()
            await asyncio.sleep(0.3)
            # The kernel spreads connections over the workers by hash; kill the one holding most.
            streams = {pid: _streams_on(pid, server.url) for pid in workers}
            victim = max(streams, key=streams.__getitem__)
            os.kill(victim, signal.SIGKILL)
            killed.update(pid=victim, streams=streams[victim])

        fault = asyncio.create_task(kill_one())
        runs = await follow_all(server.url, wallet, 10, on_trades=on_trades)
        await fault
        result = score("killed_worker", reference, runs, {"workers": 2, "killed_pid": killed["pid"], "streams_on_it": killed["streams"]})
        record(result)
        assert_no_loss(result)
        assert killed["streams"] > 0
        assert result.reconnects >= killed["streams"], "every stream on the killed worker came back through the other"
    finally:
        if server is not None:
            server.stop()
        emulator.stop()


def _streams_on(pid: int, url: str) -> int:
    """Established client connections the worker ``pid`` holds on the server's port."""
    port = int(url.rsplit(":", 1)[1])
    connections = psutil.Process(pid).net_connections("tcp")
    return sum(1 for c in connections if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port)


def _children(pid: int) -> list[int]:
    """The worker processes of the supervisor ``pid`` (multiprocessing's resource tracker left out)."""
    children = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"multiprocessing.spawn" in cmdline:
            children.append(int(child))
    return children
