"""SIGTERM with 50 open streams: every client is told SHUTTING_DOWN and the process exits in time.

Issue 4's acceptance, against a real ``walletdoctor serve`` process with the
default grace period (``SHUTDOWN_GRACE_S``, 25 s) and its stream leases in a
real Redis: the listener closes at once, every stream gets an ``error``
event ``SHUTTING_DOWN`` (``retryable``, with a jittered ``retry:``), the
process exits 0 within the grace period, and no lease is left behind.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import orjson
import redis
from httpx_sse import aconnect_sse

from tests.conftest import REAL_WALLET
from tests.servers import start_serve_process
from walletdoctor.config import DEFAULT_SHUTDOWN_GRACE_S

STREAMS = 50


async def _follow(base: str, connected: asyncio.Event, counter: list[int]) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=60) as client:
        async with aconnect_sse(client, "GET", f"{base}/v4/wallet/{REAL_WALLET}/stream") as source:
            async for event in source.aiter_sse():
                if event.event == "connected":
                    counter[0] += 1
                    if counter[0] == STREAMS:
                        connected.set()
                elif event.event in ("error", "complete"):
                    return {"event": event.event, "retry": event.retry, **orjson.loads(event.data)}
    return {"event": "eof"}


async def test_sigterm_tells_every_open_stream_and_exits_within_the_grace_period(
    tmp_path: Path, redis_url: str
) -> None:
    # Upstream answers take 60 s: every stream is still open when SIGTERM comes.
    server = start_serve_process(
        tmp_path / "serve.log",
        EMULATOR_ENHANCED_LATENCY_S="60",
        MAX_STREAMS_PER_KEY=str(STREAMS),
        RATE_LIMIT_PER_MINUTE="1000",
        REDIS_URL=redis_url,
    )
    try:
        connected = asyncio.Event()
        counter = [0]
        followers = [asyncio.create_task(_follow(server.url, connected, counter)) for _ in range(STREAMS)]
        await asyncio.wait_for(connected.wait(), 30)
        with redis.Redis.from_url(redis_url) as client:
            (leases,) = client.keys("walletdoctor:leases:*")
            assert client.zcard(leases) == STREAMS

        server.popen.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        done, _ = await asyncio.wait(followers, return_when=asyncio.FIRST_COMPLETED, timeout=DEFAULT_SHUTDOWN_GRACE_S)
        assert done, "no stream was told anything"
        try:
            async with httpx.AsyncClient() as client:
                await client.get(f"{server.url}/health", timeout=2)
            accepting = True
        except httpx.ConnectError:
            accepting = False
        endings = await asyncio.wait_for(asyncio.gather(*followers), DEFAULT_SHUTDOWN_GRACE_S)
        told_after = time.monotonic() - signalled
        exit_code = await asyncio.to_thread(server.popen.wait, DEFAULT_SHUTDOWN_GRACE_S)
        exited_after = time.monotonic() - signalled
    finally:
        server.stop()

    print(f"measured: {STREAMS} streams told in {told_after:.2f} s, exit after {exited_after:.2f} s")
    assert not accepting, "the listener closes on SIGTERM"
    assert [e.get("code") for e in endings] == ["SHUTTING_DOWN"] * STREAMS
    assert all(e["retryable"] is True for e in endings)
    retries = {e["retry"] for e in endings}
    assert all(isinstance(r, int) and 3000 <= r <= 6000 for r in retries)
    assert len(retries) > 1, "reconnect hints are jittered"
    assert exit_code == 0
    assert exited_after < DEFAULT_SHUTDOWN_GRACE_S
    with redis.Redis.from_url(redis_url) as client:
        assert client.zcard(leases) == 0, "every stream gave its lease back before the exit"
