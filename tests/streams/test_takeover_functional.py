"""Several server processes sharing Redis: a stream survives the process that served it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.api.test_resume_functional import read_until
from tests.conftest import read_stream, wallet_address
from tests.servers import Process, start_emulator_process, start_serve_process

WALLET = wallet_address("takeover")


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[Process]:
    process = start_emulator_process(tmp_path / "emulator.log", "--synthetic", f"{WALLET}=4000", "--enhanced-latency", "0.03", "--rpc-latency", "0.01")
    try:
        yield process
    finally:
        process.stop()


def _serve(tmp_path: Path, name: str, redis_url: str, emulator: Process) -> Process:
    return start_serve_process(
        tmp_path / f"{name}.log",
        REDIS_URL=redis_url,
        HELIUS_API_KEY="test-key",
        HELIUS_API_URL=emulator.url,
        HELIUS_RPC_URL=emulator.url,
        FEED_OWNER_TTL_S="2",
        RATE_LIMIT_PER_MINUTE="1000",
    )


async def _parse_requests(emulator: Process) -> int:
    async with httpx.AsyncClient() as client:
        stats = (await client.get(f"{emulator.url}/_emulator/stats")).json()
    return int(stats["endpoints"]["enhanced_parse"]["requests"])


async def test_a_killed_process_s_stream_resumes_on_another_with_nothing_lost_or_repeated(
    tmp_path: Path, redis_url: str, emulator_process: Process
) -> None:
    first, second = _serve(tmp_path, "a", redis_url, emulator_process), _serve(tmp_path, "b", redis_url, emulator_process)
    try:
        path = f"/v4/wallet/{WALLET}/stream?batch_size=100"
        whole = await read_stream(second.url + path)
        assert whole.last.event == "complete"
        fetched_whole = await _parse_requests(emulator_process)

        cut = await read_until(first.url + path, stop_after_trades=4)
        first.kill()
        before_resume = await _parse_requests(emulator_process)
        resumed = await read_stream(second.url + path, headers={"Last-Event-ID": cut.events[-1].id}, timeout=60)

        assert resumed.events[0].event == "connected" and orjson.loads(resumed.events[0].data)["resumed"] is True
        assert resumed.last.event == "complete", resumed.last.data
        signatures = [t["signature"] for t in cut.trades() + resumed.trades()]
        assert signatures == [t["signature"] for t in whole.trades()]
        assert len(set(signatures)) == len(signatures)
        # The upstream cache in Redis: the continuation does not fetch the whole history again.
        assert await _parse_requests(emulator_process) - before_resume < fetched_whole
    finally:
        first.stop()
        second.stop()


async def test_a_reconnect_to_another_process_while_the_first_still_produces_reads_it_from_redis(
    tmp_path: Path, redis_url: str, emulator_process: Process
) -> None:
    first, second = _serve(tmp_path, "a", redis_url, emulator_process), _serve(tmp_path, "b", redis_url, emulator_process)
    try:
        path = f"/v4/wallet/{WALLET}/stream?batch_size=100"
        # A second reader keeps the first process's fetch running after the cut.
        keeper = asyncio.create_task(read_stream(first.url + path))
        cut = await read_until(first.url + path, stop_after_trades=2)
        resumed = await read_stream(second.url + path, headers={"Last-Event-ID": cut.events[-1].id}, timeout=60)
        whole = await keeper
        assert resumed.last.event == "complete"
        assert [t["signature"] for t in cut.trades() + resumed.trades()] == [t["signature"] for t in whole.trades()]
    finally:
        first.stop()
        second.stop()
