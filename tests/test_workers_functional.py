"""``walletdoctor serve --workers 2``: two processes on one port, a dead one replaced, SIGTERM to all."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import orjson
from httpx_sse import aconnect_sse

from tests.conftest import REAL_WALLET
from tests.servers import Process, start_serve_process

STREAMS = 12


def _workers(supervisor: int) -> list[int]:
    """The server processes the supervisor started (multiprocessing's resource tracker left out)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [int(pid) for pid in children if b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def _serve(tmp_path: Path) -> Process:
    # Upstream answers take a minute: every stream stays open until told otherwise.
    return start_serve_process(
        tmp_path / "serve.log",
        WEB_CONCURRENCY="2",
        EMULATOR_ENHANCED_LATENCY_S="60",
        MAX_STREAMS_PER_KEY="100",
        RATE_LIMIT_PER_MINUTE="10000",
        SHUTDOWN_GRACE_S="10",
    )


async def _follow(url: str, opened: list[int]) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=60) as client:
        async with aconnect_sse(client, "GET", f"{url}/v4/wallet/{REAL_WALLET}/stream") as source:
            async for event in source.aiter_sse():
                if event.event == "connected":
                    opened.append(1)
                elif event.event in ("error", "complete"):
                    return {"event": event.event, **orjson.loads(event.data)}
    return {"event": "eof"}


async def test_a_worker_that_dies_is_replaced(tmp_path: Path) -> None:
    server = _serve(tmp_path)
    try:
        first = _workers(server.pid)
        assert len(first) == 2
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = _workers(server.pid)
            if len(now) == 2 and first[0] not in now:
                break
            await asyncio.sleep(0.2)
        assert len(now) == 2 and first[0] not in now and first[1] in now
        async with httpx.AsyncClient() as client:
            for _ in range(10):  # whichever worker the kernel picks answers
                assert (await client.get(f"{server.url}/health", timeout=10)).status_code == 200
    finally:
        server.stop()


async def test_sigterm_reaches_every_worker_and_every_stream(tmp_path: Path) -> None:
    server = _serve(tmp_path)
    try:
        workers = _workers(server.pid)
        opened: list[int] = []
        followers = [asyncio.create_task(_follow(server.url, opened)) for _ in range(STREAMS)]
        deadline = time.monotonic() + 30
        while len(opened) < STREAMS and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert len(opened) == STREAMS
        started = time.monotonic()
        server.popen.send_signal(signal.SIGTERM)
        endings = await asyncio.wait_for(asyncio.gather(*followers), 20)
        assert [e["code"] for e in endings] == ["SHUTTING_DOWN"] * STREAMS
        code = await asyncio.to_thread(server.popen.wait, 20)
        assert code == 0 and time.monotonic() - started < 10
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "no worker left behind"
        told = [orjson.loads(line)["event"] for line in server.log_lines() if "open streams to reconnect" in line]
        assert len(told) == 2, "both workers shut down gracefully"
        assert sum(int(text.split()[3]) for text in told) == STREAMS
    finally:
        server.stop()
