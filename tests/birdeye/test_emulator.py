"""The Birdeye emulator: Birdeye's path, auth, parameter checks, answer shape, cap, limits, faults, mounting."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from walletdoctor.birdeye.emulator import (
    BIRDEYE_EMULATOR,
    BirdeyeEmulatorState,
    BirdeyeFault,
    birdeye_emulator_of,
    create_birdeye_app,
)
from walletdoctor.birdeye.prices_book import PriceBook
from walletdoctor.solana import NATIVE_SOL_MINT

from tests.conftest import Emulator

TOKEN = "Token1111111111111111111111111111111111111"
PATH = "/defi/history_price"
KEY = {"X-API-KEY": "k", "x-chain": "solana"}


def params(**overrides: Any) -> dict[str, str]:
    base = {"address": TOKEN, "address_type": "token", "type": "1m", "time_from": "1000", "time_to": "1300"}
    base.update({name: str(value) for name, value in overrides.items()})
    return base


@pytest.fixture
async def birdeye(aiohttp_client: Any) -> TestClient:
    book = PriceBook({TOKEN: [(1030, Decimal("2.5")), (1031, Decimal("2.6")), (1250, Decimal("3"))]}, synthetic_sol=True)
    return await aiohttp_client(create_birdeye_app(book, latency_s=0))


def state_of(client: TestClient) -> BirdeyeEmulatorState:
    return client.server.app[BIRDEYE_EMULATOR]


async def test_one_point_per_interval_recorded_first_else_filled(birdeye: TestClient) -> None:
    response = await birdeye.get(PATH, params=params(), headers=KEY)
    assert response.status == 200
    body = await response.json()
    assert body["success"] is True and body["data"]["isScaledUiToken"] is False
    items = body["data"]["items"]
    # The interval at 1020 holds the recorded 1030 and 1031: only the first is
    # served, at its own time, as Birdeye gives one point per interval; 1080
    # and 1140 repeat the last recorded price, 1200's holds the recorded 1250;
    # the token has no price after its last point.
    assert [(i["unixTime"], i["value"]) for i in items] == [(1030, 2.5), (1080, 2.6), (1140, 2.6), (1250, 3.0)]
    assert {i["address"] for i in items} == {TOKEN}


async def test_answers_are_cut_at_1000_items(birdeye: TestClient) -> None:
    response = await birdeye.get(
        PATH, params=params(address=NATIVE_SOL_MINT, time_from=0, time_to=2000 * 60), headers=KEY
    )
    items = (await response.json())["data"]["items"]
    assert len(items) == 1000 and [i["unixTime"] for i in items] == [60 * k for k in range(1000)]


async def test_without_a_key_401(birdeye: TestClient) -> None:
    response = await birdeye.get(PATH, params=params())
    assert response.status == 401
    assert await response.json() == {"success": False, "message": "Unauthorized"}


@pytest.mark.parametrize(
    "bad",
    [
        {"address": ""},
        {"address_type": "wallet"},
        {"type": "2m"},
        {"time_from": "-5"},
        {"time_to": "soon"},
        {"time_from": "2000", "time_to": "1000"},
        {"time_to": str(10**10 + 1)},
    ],
)
async def test_bad_parameters_400(birdeye: TestClient, bad: dict[str, str]) -> None:
    response = await birdeye.get(PATH, params=params(**bad), headers=KEY)
    assert response.status == 400
    body = await response.json()
    assert body["success"] is False and body["message"]


async def test_other_chains_400(birdeye: TestClient) -> None:
    response = await birdeye.get(PATH, params=params(), headers={"X-API-KEY": "k", "x-chain": "ethereum"})
    assert response.status == 400


async def test_rate_limit_answers_429_with_retry_after(birdeye: TestClient) -> None:
    state_of(birdeye).rps = 2
    statuses = []
    for _ in range(4):
        response = await birdeye.get(PATH, params=params(), headers=KEY)
        statuses.append(response.status)
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
    assert statuses == [200, 200, 429, 429]


async def test_faults_replace_the_next_answers_in_order(birdeye: TestClient) -> None:
    state = state_of(birdeye)
    state.retry_after_s = 7
    state.inject(BirdeyeFault.RATE_LIMITED, BirdeyeFault.SERVER_ERROR, BirdeyeFault.MALFORMED)
    seen = []
    for _ in range(4):
        response = await birdeye.get(PATH, params=params(), headers=KEY)
        seen.append((response.status, response.headers.get("Retry-After")))
        if response.status == 200 and len(seen) == 3:
            with pytest.raises(ValueError):
                await response.json()
    assert seen == [(429, "7"), (500, None), (200, None), (200, None)]
    assert not state.faults


async def test_counters(birdeye: TestClient) -> None:
    await birdeye.get(PATH, params=params(), headers=KEY)
    await birdeye.get(PATH, params=params())
    state = state_of(birdeye)
    assert (state.requests, state.in_flight, state.statuses, state.mints) == (2, 0, {200: 1, 401: 1}, {TOKEN: 1})
    state.reset_counters()
    assert (state.requests, state.statuses, state.mints) == (0, {}, {})


async def test_mounted_in_the_helius_emulator(emulator: Emulator) -> None:
    state = birdeye_emulator_of(emulator.app)
    state.latency_s = 0
    async with aiohttp.ClientSession() as session:
        url = f"{emulator.url}/birdeye{PATH}"
        async with session.get(url, params=params(address=NATIVE_SOL_MINT), headers=KEY) as response:
            assert response.status == 200
            assert (await response.json())["data"]["items"]
    assert state.requests == 1
    assert emulator.stats.to_json()["endpoints"]  # the Helius routes are untouched


def test_state_lookup_fails_plainly_without_a_birdeye_app() -> None:
    with pytest.raises(LookupError):
        birdeye_emulator_of(web.Application())


def test_negative_latency_is_refused() -> None:
    with pytest.raises(ValueError):
        create_birdeye_app(PriceBook({}), latency_s=-1)
