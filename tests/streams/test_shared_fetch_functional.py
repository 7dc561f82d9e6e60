"""Shared fetches over real HTTP: concurrent streams of one wallet cost the upstream one fetch."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp

from tests.conftest import Emulator, ServerFactory

STREAMS = 200


async def _read(session: aiohttp.ClientSession, url: str, ready: asyncio.Event) -> bool:
    """Read a whole stream without keeping it (200 x 9 MB); True when it ended with ``complete``."""
    async with session.get(url) as response:
        assert response.status == 200
        window = b""
        completed = False
        async for chunk in response.content.iter_any():
            ready.set()
            window = window[-32:] + chunk
            completed = completed or b"event: complete" in window
        return completed


async def test_200_concurrent_streams_of_a_20k_wallet_make_exactly_one_upstream_fetch(
    emulator: Emulator, walletdoctor: ServerFactory
) -> None:
    wallet = emulator.synthetic("shared-20k", 20_000)
    emulator.settings.update({"enhanced_latency_s": 0.02, "rpc_latency_s": 0.01})
    # No upstream cache: every request the fetch needs reaches the emulator. A
    # stream joins a fetch while its feed still holds the first event; with the
    # default 4 MiB (less than half of this 9 MB stream) the 199 joins, opened in
    # this process beside the server, raced the first reader pulling the feed past
    # it (two fetches in CI once the pipeline got faster): the feed here holds the
    # whole stream, so what is tested is the sharing, not that race.
    base = await walletdoctor(
        upstream_cache_ttl_s=0,
        rate_limit_per_minute=100_000,
        max_streams_per_key=1000,
        feed_buffer_bytes=16 * 1024 * 1024,
    )
    url = f"{base}/v4/wallet/{wallet}/stream"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as session:
        await _read(session, url, asyncio.Event())
        one_fetch = Counter({endpoint.value: stats.requests for endpoint, stats in emulator.stats.endpoints.items()})
        emulator.stats.reset()

        # The first stream starts the fetch; the other 199 join it while it runs.
        started = asyncio.Event()
        first = asyncio.create_task(_read(session, url, started))
        await started.wait()
        others = [asyncio.create_task(_read(session, url, asyncio.Event())) for _ in range(STREAMS - 1)]
        endings = await asyncio.gather(first, *others)

    shared = Counter({endpoint.value: stats.requests for endpoint, stats in emulator.stats.endpoints.items()})
    assert all(endings), f"{endings.count(False)} streams did not complete"
    assert one_fetch["enhanced_parse"] >= 190, "a 20k wallet is about 200 parse batches"
    fetch = ("rpc_signatures", "enhanced_parse", "enhanced_history")
    assert [shared[e] for e in fetch] == [one_fetch[e] for e in fetch], f"{STREAMS} streams: {dict(shared)}; one: {dict(one_fetch)}"
    # Symbols were looked up by the first fetch and are known to the process since.
    assert shared["rpc_assets"] == 0
