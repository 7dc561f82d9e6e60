"""SIGTERM with open streams: every client is told SHUTTING_DOWN and the process exits in time."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import httpx
import orjson
from httpx_sse import aconnect_sse

from tests.conftest import REAL_WALLET, free_port

GRACE_S = 10.0
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


async def test_sigterm_tells_every_open_stream_and_exits_within_the_grace_period() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "HELIUS_API_KEY"}
    # Upstream answers take 60 s: every stream is still open when SIGTERM comes.
    env |= {
        "PORT": str(port),
        "EMULATOR_ENHANCED_LATENCY_S": "60",
        "SHUTDOWN_TIMEOUT_S": str(GRACE_S - 2),
        "MAX_STREAMS_PER_KEY": str(STREAMS),
        "RATE_LIMIT_PER_MINUTE": "1000",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "walletdoctor", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                async with httpx.AsyncClient() as client:
                    await client.get(f"{base}/v4/wallet/x/stream", timeout=1)
                break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        connected = asyncio.Event()
        counter = [0]
        followers = [asyncio.create_task(_follow(base, connected, counter)) for _ in range(STREAMS)]
        await asyncio.wait_for(connected.wait(), 30)

        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        endings = await asyncio.wait_for(asyncio.gather(*followers), GRACE_S)
        exit_code = await asyncio.to_thread(process.wait, GRACE_S)
        exited_after = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert [e.get("code") for e in endings] == ["SHUTTING_DOWN"] * STREAMS
    assert all(e["retryable"] is True for e in endings)
    retries = {e["retry"] for e in endings}
    assert all(isinstance(r, int) and r >= 3000 for r in retries)
    assert len(retries) > 1, "reconnect hints are jittered"
    assert exit_code == 0
    assert exited_after < GRACE_S
