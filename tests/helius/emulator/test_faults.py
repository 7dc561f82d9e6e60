"""The latency model and injected faults, over loopback HTTP where the wire matters."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from walletdoctor.helius.emulator.app import EMULATOR_SETTINGS
from walletdoctor.helius.emulator.faults import Fault, FaultInjector
from walletdoctor.helius.emulator.settings import EmulatorSettings, Endpoint

if TYPE_CHECKING:
    from tests.helius.emulator.conftest import Emulator


async def _statuses(emulator: Emulator, count: int) -> list[int]:
    return [(await emulator.history())[0] for _ in range(count)]


async def test_server_error_ratio_one_always_answers_5xx_on_both_hosts(emulator: Emulator) -> None:
    emulator.app[EMULATOR_SETTINGS].server_error_ratio = 1.0
    statuses = await _statuses(emulator, 30)
    assert set(statuses) <= {500, 502, 503, 504} and len(set(statuses)) > 1
    body = {"jsonrpc": "2.0", "id": 1, "method": "getSignaturesForAddress", "params": [emulator.wallet.address]}
    async with emulator.session.post(emulator.url("/"), json=body) as response:
        assert response.status in {500, 502, 503, 504}
        assert "error" in await response.json()


async def test_malformed_answers_are_200_and_do_not_parse(emulator: Emulator) -> None:
    emulator.app[EMULATOR_SETTINGS].malformed_ratio = 1.0
    kinds = set()
    for _ in range(20):
        async with emulator.session.get(
            emulator.url(f"/v0/addresses/{emulator.wallet.address}/transactions")
        ) as response:
            assert response.status == 200
            kinds.add(response.content_type)
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(await response.read())
    assert kinds == {"application/json", "text/html"}


async def test_incomplete_parse_and_history_omit_transactions(emulator: Emulator) -> None:
    emulator.app[EMULATOR_SETTINGS].incomplete_ratio = 1.0
    sigs = emulator.wallet.signatures[:20]
    async with emulator.session.post(emulator.url("/v0/transactions"), json={"transactions": sigs}) as response:
        got = [tx["signature"] for tx in await response.json()]
    assert 15 <= len(got) < 20 and got == [s for s in sigs if s in got]
    status, page = await emulator.history(limit=20)
    assert status == 200 and 1 <= len(page) < 20
    status, page = await emulator.history(limit=1)
    assert status == 200 and len(page) == 1  # a history page is never emptied: [] would end paging


async def test_timeout_fault_hangs_then_answers_504(emulator: Emulator) -> None:
    emulator.app[EMULATOR_SETTINGS].update({"timeout_ratio": 1.0, "timeout_s": 0.2})
    started = time.monotonic()
    status, body = await emulator.history()
    assert status == 504 and body == {"error": "Gateway Timeout"}
    assert time.monotonic() - started >= 0.19


async def test_latency_model_is_respected(emulator: Emulator) -> None:
    emulator.app[EMULATOR_SETTINGS].update({"enhanced_latency_s": 0.1, "rpc_latency_s": 0.05, "latency_jitter": 0.2})
    started = time.monotonic()
    await asyncio.gather(*(emulator.history() for _ in range(5)))  # concurrent: latency is not a queue
    elapsed = time.monotonic() - started
    assert 0.08 <= elapsed < 1.0
    started = time.monotonic()
    await emulator.rpc("getSignaturesForAddress", [emulator.wallet.address])
    assert 0.04 <= time.monotonic() - started < 1.0


def test_latency_draws_stay_within_jitter() -> None:
    injector = FaultInjector(EmulatorSettings(enhanced_latency_s=0.6, latency_jitter=0.2))
    draws = [injector.latency_s(Endpoint.ENHANCED_HISTORY) for _ in range(1000)]
    assert min(draws) >= 0.48 and max(draws) <= 0.72 and max(draws) - min(draws) > 0.2
    assert FaultInjector(EmulatorSettings.instant()).latency_s(Endpoint.RPC_ASSETS) == 0.0


def test_same_seed_replays_the_same_faults() -> None:
    def sequence(seed: int) -> list[Fault]:
        settings = EmulatorSettings.instant(
            server_error_ratio=0.3, timeout_ratio=0.2, malformed_ratio=0.2, fault_seed=seed
        )
        injector = FaultInjector(settings)
        return [injector.draw() for _ in range(200)]

    first = sequence(7)
    assert first == sequence(7) != sequence(8)
    share: dict[Any, float] = {f: first.count(f) / 200 for f in Fault}
    assert 0.15 < share[Fault.SERVER_ERROR] < 0.45 and share[Fault.NONE] > 0.15


def test_omit_keeps_order_and_at_least_one_when_asked() -> None:
    injector = FaultInjector(EmulatorSettings.instant(incomplete_ratio=1.0))
    items = list(range(40))
    kept = injector.omit(items, keep_one=True)
    assert 30 <= len(kept) < 40 and kept == sorted(kept)
    assert injector.omit([1], keep_one=True) == [1]
    assert injector.omit([1], keep_one=False) == []
    assert FaultInjector(EmulatorSettings.instant()).omit(items, keep_one=False) is items
