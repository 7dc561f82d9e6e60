"""The upstream cache: only final answers are kept, and a kept answer spares Helius a request."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from tests.conftest import Emulator
from walletdoctor.config import HistoryVocabulary
from walletdoctor.helius.cache import CachedHistory, MemoryCache, RedisCache
from walletdoctor.helius.client import HeliusClient
from walletdoctor.helius.emulator.settings import Endpoint


async def test_memory_cache_keeps_the_most_recently_used_within_its_budget() -> None:
    cache = MemoryCache(budget_bytes=10, ttl_s=60)
    await cache.set_many({"a": b"1234", "b": b"5678"})
    assert await cache.get_many(["a"]) == [b"1234"]  # "a" is now the most recent
    await cache.set_many({"c": b"9012"})
    assert await cache.get_many(["a", "b", "c"]) == [b"1234", None, b"9012"]
    await cache.set_many({"huge": b"x" * 11})
    assert await cache.get_many(["huge"]) == [None], "larger than the whole budget: not kept"


async def test_memory_cache_entries_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = MemoryCache(budget_bytes=100, ttl_s=5)
    now = time.monotonic()
    monkeypatch.setattr("walletdoctor.helius.cache.time.monotonic", lambda: now)
    await cache.set_many({"a": b"x"})
    monkeypatch.setattr("walletdoctor.helius.cache.time.monotonic", lambda: now + 5.1)
    assert await cache.get_many(["a"]) == [None]
    assert len(cache) == 0


async def test_redis_cache_shares_entries_and_a_dead_redis_reads_as_misses(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        await RedisCache(client, ttl_s=60).set_many({"wd:up:k": b"v"})
        assert await RedisCache(client, ttl_s=60).get_many(["wd:up:k", "wd:up:none"]) == [b"v", None]
        assert 0 < await client.pttl("wd:up:k") <= 60_000
    finally:
        await client.aclose()
    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        assert await RedisCache(dead, ttl_s=60).get_many(["a", "b"]) == [None, None]
        await RedisCache(dead, ttl_s=60).set_many({"a": b"x"})  # logged, not raised
    finally:
        await dead.aclose()


@pytest.fixture
async def history(emulator: Emulator) -> AsyncIterator[CachedHistory]:
    async with aiohttp.ClientSession() as session:
        client = HeliusClient(session, api_url=emulator.url, rpc_url=emulator.url, api_key="k", rps=1000, rpc_rps=1000)
        yield CachedHistory(client, MemoryCache(budget_bytes=50_000_000, ttl_s=60))


def requests(emulator: Emulator, endpoint: Endpoint) -> int:
    return emulator.stats.endpoints[endpoint].requests


async def test_parsed_transactions_are_fetched_once(emulator: Emulator, history: CachedHistory) -> None:
    wallet = emulator.synthetic("cache-parse", 300)
    signatures = [s["signature"] for s in await history.get_signatures(wallet, limit=150)]
    first = await history.parse_transactions(signatures[:100])
    again = await history.parse_transactions(signatures[50:150])
    assert requests(emulator, Endpoint.ENHANCED_PARSE) == 2, "the second asked Helius only for the 50 new ones"
    by_signature = {t["signature"]: t for t in first + again}
    assert sorted(by_signature) == sorted(signatures[:150])
    assert [t["signature"] for t in again if t["signature"] in set(signatures[50:100])] == signatures[50:100]


async def test_only_signature_pages_behind_a_cursor_are_kept(emulator: Emulator, history: CachedHistory) -> None:
    wallet = emulator.synthetic("cache-signatures", 300)
    newest = await history.get_signatures(wallet, limit=100)
    await history.get_signatures(wallet, limit=100)
    assert requests(emulator, Endpoint.RPC_SIGNATURES) == 2, "the newest page grows: never cached"
    cursor = newest[-1]["signature"]
    older = await history.get_signatures(wallet, before=cursor, limit=100)
    assert await history.get_signatures(wallet, before=cursor, limit=100) == older
    assert requests(emulator, Endpoint.RPC_SIGNATURES) == 3


@pytest.mark.parametrize(("oldest_first", "cached"), [(False, True), (True, False)])
async def test_history_pages_are_kept_when_they_cannot_grow(
    emulator: Emulator, history: CachedHistory, oldest_first: bool, cached: bool
) -> None:
    wallet = emulator.synthetic(f"cache-history-{oldest_first}", 150)
    first = await history.address_transactions(wallet, limit=100, oldest_first=oldest_first)
    cursor: Any = first.transactions[-1]["signature"]
    for _ in range(2):
        page = await history.address_transactions(
            wallet, cursor=cursor, limit=100, oldest_first=oldest_first, vocabulary=HistoryVocabulary.SIGNATURE
        )
        assert len(page.transactions) == 50, "a short page: the last one"
    # Walking back, a page behind a cursor is final; walking forward, a short one may still grow.
    assert requests(emulator, Endpoint.ENHANCED_HISTORY) == (2 if cached else 3)
