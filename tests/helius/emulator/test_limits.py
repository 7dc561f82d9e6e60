"""The emulator's rate limit: the windows alone, then 429s over loopback HTTP."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import orjson
import pytest

from walletdoctor.helius.emulator.app import EMULATOR_SETTINGS, EMULATOR_STATS
from walletdoctor.helius.emulator.limits import RATE_LIMIT_BODY, RateLimiter
from walletdoctor.helius.emulator.settings import EmulatorSettings, Endpoint

if TYPE_CHECKING:
    from tests.helius.emulator.conftest import Emulator


@pytest.mark.parametrize("window", ["sliding", "fixed"])
def test_window_refuses_over_the_limit_and_recovers_next_second(window: str) -> None:
    limiter = RateLimiter(EmulatorSettings.instant(rpc_rps=3, rate_limit_window=window))
    assert [limiter.admit(Endpoint.RPC_SIGNATURES, now=t) for t in (100.0, 100.1, 100.2)] == [None] * 3
    wait = limiter.admit(Endpoint.RPC_SIGNATURES, now=100.3)
    assert wait == pytest.approx(0.7)
    assert limiter.admit(Endpoint.RPC_SIGNATURES, now=101.01) is None


def test_sliding_window_has_no_burst_at_the_second_boundary() -> None:
    sliding = RateLimiter(EmulatorSettings.instant(rpc_rps=2, rate_limit_window="sliding"))
    fixed = RateLimiter(EmulatorSettings.instant(rpc_rps=2, rate_limit_window="fixed"))
    times = (100.8, 100.9, 101.0, 101.1)
    assert [sliding.admit(Endpoint.RPC_OTHER, now=t) is None for t in times] == [True, True, False, False]
    assert [fixed.admit(Endpoint.RPC_OTHER, now=t) is None for t in times] == [True, True, True, True]


def test_das_and_enhanced_share_one_budget_apart_from_rpc() -> None:
    limiter = RateLimiter(EmulatorSettings.instant(rpc_rps=1, enhanced_rps=2))
    assert limiter.admit(Endpoint.RPC_ASSETS, now=5.0) is None
    assert limiter.admit(Endpoint.ENHANCED_HISTORY, now=5.0) is None
    assert limiter.admit(Endpoint.ENHANCED_PARSE, now=5.0) is not None
    assert limiter.admit(Endpoint.RPC_SIGNATURES, now=5.0) is None
    assert limiter.admit(Endpoint.RPC_SIGNATURES, now=5.0) is not None


def test_zero_means_unlimited_and_lowering_at_run_time_applies() -> None:
    settings = EmulatorSettings.instant()
    limiter = RateLimiter(settings)
    assert all(limiter.admit(Endpoint.ENHANCED_PARSE, now=1.0) is None for _ in range(10_000))
    settings.update({"enhanced_rps": 5})
    for _ in range(5):
        assert limiter.admit(Endpoint.ENHANCED_PARSE, now=2.0) is None
    settings.update({"enhanced_rps": 2})
    assert limiter.admit(Endpoint.ENHANCED_PARSE, now=2.5) == pytest.approx(0.5)


@pytest.mark.parametrize("window", ["sliding", "fixed"])
async def test_429_with_retry_after_then_recovery(emulator: Emulator, window: str) -> None:
    settings = emulator.app[EMULATOR_SETTINGS]
    settings.update({"enhanced_rps": 3, "rate_limit_window": window})
    statuses = []
    for _ in range(6):
        async with emulator.session.get(
            emulator.url(f"/v0/addresses/{emulator.wallet.address}/transactions")
        ) as response:
            statuses.append(response.status)
            if response.status == 429:
                assert response.headers["Retry-After"] == "1"
                assert await response.read() == RATE_LIMIT_BODY
                assert orjson.loads(RATE_LIMIT_BODY)["error"]["code"] == -32005
    assert statuses.count(429) >= 3 and statuses[0] == 200
    assert emulator.app[EMULATOR_STATS].endpoints[Endpoint.ENHANCED_HISTORY].rate_limited == statuses.count(429)
    await asyncio.sleep(1.05)
    status, page = await emulator.history()
    assert status == 200 and len(page) == 10


async def test_rpc_429_without_retry_after_when_disabled(emulator: Emulator) -> None:
    emulator.app[EMULATOR_SETTINGS].update({"rpc_rps": 1, "retry_after": False})
    body = {"jsonrpc": "2.0", "id": 1, "method": "getSignaturesForAddress", "params": [emulator.wallet.address]}
    statuses = []
    for _ in range(3):
        async with emulator.session.post(emulator.url("/"), json=body) as response:
            statuses.append(response.status)
            if response.status == 429:
                assert "Retry-After" not in response.headers
    assert statuses[0] == 200 and 429 in statuses
