"""Token symbols: DAS getAssetBatch through the emulator, the per-process cache, and the Redis cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.conftest import Emulator, free_port, wallet_address
from walletdoctor.helius import assets, create_client_session
from walletdoctor.helius.assets import (
    MAX_LOOKUPS_IN_FLIGHT,
    SHARED_SYMBOL_TTL_S,
    TokenDirectory,
    symbol_of_asset,
)
from walletdoctor.helius.client import HeliusClient
from walletdoctor.helius.emulator.recorded import load_recorded_wallet
from walletdoctor.helius.emulator.settings import Endpoint
from walletdoctor.solana import NATIVE_SOL_MINT, WELL_KNOWN_SYMBOLS

LUB = "2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon"
#: A valid mint no wallet of the emulator touches: DAS knows no symbol for it.
UNKNOWN = wallet_address("a mint nobody minted")


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[HeliusClient]:
    session = create_client_session(16)
    try:
        yield HeliusClient(
            session,
            api_url=emulator.url,
            rpc_url=emulator.url,
            api_key="test-key",
            rps=1000,
            rpc_rps=1000,
            timeout_s=2.0,
            attempts=2,
            backoff_initial_s=0.01,
            backoff_max_s=0.02,
        )
    finally:
        await session.close()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    made = aioredis.from_url(redis_url)
    try:
        yield made
    finally:
        await made.aclose()


def das_requests(emulator: Emulator) -> int:
    return emulator.stats.endpoints[Endpoint.RPC_ASSETS].requests


def test_symbol_of_an_asset_prefers_token_info_and_ignores_blanks() -> None:
    assert symbol_of_asset({"token_info": {"symbol": "lub"}, "content": {"metadata": {"symbol": "LUB2"}}}) == "lub"
    assert symbol_of_asset({"token_info": {"symbol": " \u3164 "}, "content": {"metadata": {"symbol": "M"}}}) == "M"
    assert symbol_of_asset({"content": {"metadata": {}}}) is None and symbol_of_asset(None) is None


async def test_das_names_known_mints_and_the_process_remembers(client: HeliusClient, emulator: Emulator) -> None:
    tokens = TokenDirectory(client)
    assert tokens.known([LUB, UNKNOWN, NATIVE_SOL_MINT]) == {NATIVE_SOL_MINT: "SOL"}
    assert await tokens.symbols([LUB, UNKNOWN, NATIVE_SOL_MINT]) == {LUB: "lub", UNKNOWN: None, NATIVE_SOL_MINT: "SOL"}
    assert das_requests(emulator) == 1  # SOL is well known: only lub and the unknown mint were asked
    assert await tokens.symbols([LUB, UNKNOWN]) == {LUB: "lub", UNKNOWN: None}
    assert tokens.known([LUB, UNKNOWN]) == {LUB: "lub", UNKNOWN: None}
    assert das_requests(emulator) == 1


async def test_one_das_request_per_1000_unknown_mints(client: HeliusClient, emulator: Emulator) -> None:
    assets = load_recorded_wallet().assets()
    known = sorted(m for m, info in assets.items() if m not in WELL_KNOWN_SYMBOLS and str(info["symbol"]).strip())
    mints = known + [wallet_address(f"unminted {k}") for k in range(1500 - len(known))]
    named = await TokenDirectory(client).symbols(mints)
    assert das_requests(emulator) == 2
    assert len(named) == 1500
    assert all(named[mint] is not None for mint in known) and named[mints[-1]] is None


async def test_concurrent_asks_share_one_look_up(client: HeliusClient, emulator: Emulator) -> None:
    emulator.settings.update({"das_latency_s": 0.1})
    tokens = TokenDirectory(client)
    first, second = await asyncio.gather(tokens.symbols([LUB]), tokens.symbols([LUB]))
    assert first == second == {LUB: "lub"}
    assert das_requests(emulator) == 1


async def test_mints_asked_for_while_a_look_up_is_in_flight_go_together_in_the_next(
    client: HeliusClient, emulator: Emulator
) -> None:
    """Regression: a stream's first runs each asked DAS for their own mints, and the
    requests queued behind the rate limit (73 for the real wallet, 14 s); one at
    a time, the first trades waited three round trips."""
    history = load_recorded_wallet()
    mints = sorted({m for i in range(400) for m in _mints_of(history.transaction(i))})
    assert len(mints) > 2 * MAX_LOOKUPS_IN_FLIGHT + 2
    emulator.settings.update({"das_latency_s": 0.2})
    directory = TokenDirectory(client)
    first = asyncio.create_task(directory.symbols(mints[:2]))
    await asyncio.sleep(0.05)  # the first request is in flight
    rest = [asyncio.create_task(directory.symbols([mint])) for mint in mints[2:]]
    await asyncio.gather(first, *rest)
    # The first, one each for the next few while slots are free, then one for all the others.
    assert das_requests(emulator) == MAX_LOOKUPS_IN_FLIGHT + 1 < len(mints) - 1


async def test_urgent_mints_go_beside_the_look_up_in_flight(client: HeliusClient, emulator: Emulator) -> None:
    """A stream's first trades (or its last run) do not wait for another look-up to end."""
    history = load_recorded_wallet()
    mints = sorted({m for i in range(100) for m in _mints_of(history.transaction(i))})
    emulator.settings.update({"das_latency_s": 0.3})
    directory = TokenDirectory(client)
    busy = asyncio.create_task(directory.symbols(mints[:1]))
    await asyncio.sleep(0.05)  # the process's one look-up is in flight
    named = await directory.symbols(mints[1:3], urgent=True)
    assert set(named) == set(mints[1:3])
    await busy
    assert das_requests(emulator) == 2
    assert emulator.stats.endpoints[Endpoint.RPC_ASSETS].max_in_flight == 2, "it went beside the look-up in flight"


async def test_look_ups_leave_spaced_and_gather_the_mints_asked_for_meanwhile(
    client: HeliusClient, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Measured before: ten to thirteen DAS requests for the real wallet, each a place
    of the Enhanced API's window its parse requests needed; spaced, five."""
    monkeypatch.setattr(assets, "LOOKUP_SPACING_S", 30.0)  # far longer than this test
    history = load_recorded_wallet()
    mints = sorted({m for i in range(100) for m in _mints_of(history.transaction(i))})
    directory = TokenDirectory(client)
    assert set(await directory.symbols(mints[:1])) == set(mints[:1])
    later = [asyncio.create_task(directory.symbols([mint])) for mint in mints[1:4]]
    await asyncio.sleep(0.3)
    assert das_requests(emulator) == 1, "the next look-up waits for the spacing"
    assert not any(task.done() for task in later)
    named = await directory.symbols(mints[4:5], urgent=True)
    assert set(named) == set(mints[4:5])
    assert [set(await task) for task in later] == [{mint} for mint in mints[1:4]]
    assert das_requests(emulator) == 2, "the urgent look-up took the queued mints along"
    await directory.aclose()


async def test_mints_only_a_cancelled_caller_waited_for_are_not_looked_up(
    client: HeliusClient, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream whose client left while its mints waited for the spacing costs no DAS request."""
    monkeypatch.setattr(assets, "LOOKUP_SPACING_S", 30.0)
    history = load_recorded_wallet()
    mints = sorted({m for i in range(100) for m in _mints_of(history.transaction(i))})
    directory = TokenDirectory(client)
    await directory.symbols(mints[:1])
    gone = asyncio.create_task(directory.symbols(mints[1:2]))
    await asyncio.sleep(0.05)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    await directory.symbols(mints[2:3], urgent=True)
    assert das_requests(emulator) == 2
    await directory.symbols(mints[1:2], urgent=True)
    assert das_requests(emulator) == 3, "the cancelled caller's mint was not sent with the urgent one"
    await directory.aclose()


def _mints_of(transaction: dict[str, Any]) -> set[str]:
    return {t["mint"] for t in transaction.get("tokenTransfers") or [] if t.get("mint")}


async def test_a_failed_look_up_leaves_mints_unnamed_and_asks_again(client: HeliusClient, emulator: Emulator) -> None:
    tokens = TokenDirectory(client)
    emulator.settings.update({"server_error_ratio": 1.0})
    assert await tokens.symbols([LUB]) == {LUB: None}
    emulator.settings.update({"server_error_ratio": 0.0})
    assert await tokens.symbols([LUB]) == {LUB: "lub"}


async def test_redis_shares_symbols_between_processes(
    client: HeliusClient, emulator: Emulator, redis_client: aioredis.Redis
) -> None:
    first_process = TokenDirectory.with_redis(client, redis_client)
    assert await first_process.symbols([LUB, UNKNOWN]) == {LUB: "lub", UNKNOWN: None}
    assert das_requests(emulator) == 1
    ttl = await redis_client.ttl(f"wd:up:symbol:{LUB}")
    assert SHARED_SYMBOL_TTL_S - 60 < ttl <= SHARED_SYMBOL_TTL_S

    # Another process (a fresh directory) reads both answers, "no symbol" included, from Redis.
    other_process = TokenDirectory.with_redis(client, redis_client)
    assert await other_process.symbols([LUB, UNKNOWN]) == {LUB: "lub", UNKNOWN: None}
    assert das_requests(emulator) == 1


async def test_without_redis_the_cache_is_per_process(client: HeliusClient, emulator: Emulator) -> None:
    await TokenDirectory.with_redis(client, None).symbols([LUB])
    await TokenDirectory.with_redis(client, None).symbols([LUB])
    assert das_requests(emulator) == 2


async def test_redis_down_falls_back_on_das(client: HeliusClient, emulator: Emulator) -> None:
    unreachable = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    try:
        tokens = TokenDirectory.with_redis(client, unreachable)
        assert await tokens.symbols([LUB]) == {LUB: "lub"}
    finally:
        await unreachable.aclose()
    assert das_requests(emulator) == 1


async def test_closing_cancels_the_look_ups_in_flight(client: HeliusClient, emulator: Emulator) -> None:
    """Regression: a look-up left in flight when the app stopped used the closed HTTP session."""
    emulator.settings.update({"das_latency_s": 5.0})
    directory = TokenDirectory(client)
    asking = asyncio.create_task(directory.symbols([LUB]))
    await asyncio.sleep(0.05)
    queued = asyncio.create_task(directory.symbols([UNKNOWN]))  # waits for the one in flight
    await asyncio.sleep(0.01)
    await asyncio.wait_for(directory.aclose(), 1.0)
    # Both askers are answered (unnamed), not left hanging, and the queued
    # mint did not start a look-up of its own when the first one ended.
    assert await asyncio.wait_for(asking, 1.0) == {LUB: None}
    assert await asyncio.wait_for(queued, 1.0) == {UNKNOWN: None}
    assert das_requests(emulator) <= 1
