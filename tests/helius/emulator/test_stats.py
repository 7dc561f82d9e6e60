"""What the emulator counts: per endpoint class, per wallet, the request log, in-flight on cancel."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from walletdoctor.helius.emulator.app import EMULATOR_SETTINGS, EMULATOR_STATS
from walletdoctor.helius.emulator.settings import Endpoint
from walletdoctor.helius.emulator.stats import CLIENT_CLOSED, EmulatorStats

if TYPE_CHECKING:
    from tests.helius.emulator.conftest import Emulator


async def test_requests_are_counted_by_class_status_and_wallet(emulator: Emulator) -> None:
    stats = emulator.app[EMULATOR_STATS]
    address = emulator.wallet.address
    await emulator.history()
    await emulator.history(limit=0)
    await emulator.rpc("getSignaturesForAddress", [address])
    await emulator.rpc("getAssetBatch", {"ids": []})
    await emulator.rpc("getSlot", [])
    async with emulator.session.post(emulator.url("/v0/transactions"), json={"transactions": []}):
        pass
    history = stats.endpoints[Endpoint.ENHANCED_HISTORY]
    assert history.by_status == {200: 1, 400: 1} and history.requests == 2
    assert stats.endpoints[Endpoint.RPC_SIGNATURES].by_status == {200: 1}
    assert stats.endpoints[Endpoint.RPC_ASSETS].requests == 1
    assert stats.endpoints[Endpoint.RPC_OTHER].requests == 1
    assert stats.endpoints[Endpoint.ENHANCED_PARSE].requests == 1
    assert stats.wallets[address].history == 2 and stats.wallets[address].signatures == 1
    assert [r.endpoint for r in stats.log] == [
        "enhanced_history",
        "enhanced_history",
        "rpc_signatures",
        "rpc_assets",
        "rpc_other",
        "enhanced_parse",
    ]
    assert stats.log[0].wallet == address and stats.log[-1].wallet is None
    assert stats.in_flight == 0 and history.max_in_flight == 1


async def test_cancelled_client_stops_counting_in_flight_at_once(emulator: Emulator) -> None:
    """A client that leaves mid-request must not leave the emulator working for it."""
    emulator.app[EMULATOR_SETTINGS].enhanced_latency_s = 30.0
    stats = emulator.app[EMULATOR_STATS]
    request = asyncio.create_task(emulator.history())
    for _ in range(200):
        if stats.in_flight == 1:
            break
        await asyncio.sleep(0.01)
    assert stats.endpoints[Endpoint.ENHANCED_HISTORY].in_flight == 1
    left_at = time.time()
    request.cancel()
    for _ in range(200):
        if stats.in_flight == 0:
            break
        await asyncio.sleep(0.01)
    assert stats.in_flight == 0
    (record,) = stats.log
    assert record.status == CLIENT_CLOSED and record.timestamp <= left_at
    assert stats.requests_since(record.seq) == []


async def test_admin_stats_json_and_reset(emulator: Emulator) -> None:
    await emulator.history()
    await emulator.history()
    async with emulator.session.get(f"{emulator.base_url}/_emulator/stats", params={"log": "1"}) as response:
        snapshot = await response.json()
    assert snapshot["endpoints"]["enhanced_history"] == {
        "requests": 2,
        "rate_limited": 0,
        "in_flight": 0,
        "max_in_flight": 1,
        "by_status": {"200": 2},
    }
    assert snapshot["wallets"] == {emulator.wallet.address: {"signatures": 0, "history": 2}}
    assert snapshot["last_seq"] == 2 and len(snapshot["log"]) == 1
    assert set(snapshot["log"][0]) == {"seq", "timestamp", "endpoint", "wallet", "status"}
    async with emulator.session.post(f"{emulator.base_url}/_emulator/stats/reset") as response:
        assert response.status == 204
    async with emulator.session.get(f"{emulator.base_url}/_emulator/stats") as response:
        snapshot = await response.json()
    assert snapshot["endpoints"]["enhanced_history"]["requests"] == 0
    assert snapshot["wallets"] == {} and snapshot["log"] == []


def test_reset_keeps_requests_in_flight_counted() -> None:
    stats = EmulatorStats(log_size=2)
    arrived = stats.begin(Endpoint.RPC_ASSETS)
    stats.begin(Endpoint.RPC_ASSETS)
    stats.begin(Endpoint.RPC_ASSETS)
    stats.end(Endpoint.RPC_ASSETS, None, 200, arrived)
    stats.reset()
    assert stats.endpoints[Endpoint.RPC_ASSETS].max_in_flight == 2
    assert stats.endpoints[Endpoint.RPC_ASSETS].requests == 0 and not stats.log
    stats.end(Endpoint.RPC_ASSETS, None, 200, arrived)
    stats.end(Endpoint.RPC_ASSETS, None, 200, arrived)
    stats.begin(Endpoint.RPC_ASSETS)
    stats.end(Endpoint.RPC_ASSETS, None, 429, arrived)
    assert stats.in_flight == 0 and stats.endpoints[Endpoint.RPC_ASSETS].rate_limited == 1
    assert [r.seq for r in stats.log] == [3, 4]  # log_size 2 keeps the newest; seq survives reset


async def test_request_log_size_follows_settings(emulator: Emulator) -> None:
    emulator.app[EMULATOR_SETTINGS].update({"request_log_size": 3})
    for _ in range(5):
        await emulator.history()
    assert len(emulator.app[EMULATOR_STATS].log) == 3
