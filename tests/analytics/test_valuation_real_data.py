"""Acceptance: the real wallet's whole history valued through Birdeye (its emulator, over loopback HTTP).

Every trade extracted from the recorded history is valued with
``PriceChain(StablecoinPrices(), BirdeyePrices(client))``, the client
talking to the Birdeye emulator mounted in the Helius emulator. The ground
truth is the third-party export's own USD amounts: per swap row, the value
of its quote leg (a USD stablecoin, else SOL), or of the given token for a
token-to-token row, which is what :func:`value_trades` values.
"""

from __future__ import annotations

import csv
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from walletdoctor.analytics.extraction import extract_trade
from walletdoctor.analytics.prices import BirdeyePrices, PriceChain, StablecoinPrices
from walletdoctor.analytics.trade import Trade
from walletdoctor.analytics.valuation import value_trades
from walletdoctor.birdeye import BirdeyeClient
from walletdoctor.birdeye.emulator import BIRDEYE_PREFIX, birdeye_emulator_of
from walletdoctor.helius.emulator.recorded import load_recorded_wallet
from walletdoctor.solana import NATIVE_SOL_MINT, USD_STABLECOIN_MINTS

from tests.conftest import REAL_WALLET, Emulator

#: Agreement required between our total volume and the export's.
TOLERANCE = Decimal("0.005")


def _export_value(row: dict[str, str]) -> Decimal:
    legs = [(row[f"{leg}_address"], Decimal(row[f"{leg}_amount_usd"] or 0)) for leg in ("token0", "token1")]
    for address, usd in legs:
        if address in USD_STABLECOIN_MINTS:
            return usd
    for address, usd in legs:
        if address in ("native", NATIVE_SOL_MINT):
            return usd
    return legs[0][1]


@pytest.fixture(scope="module")
def export_total(shared_data_dir: Path) -> tuple[int, Decimal]:
    with (shared_data_dir / "exports" / "3JoVBiQE_activity_export.csv").open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["tx_type"] == "swap"]
    return len(rows), sum((_export_value(row) for row in rows), Decimal(0))


@pytest.fixture(scope="module")
def trades() -> list[Trade]:
    wallet = load_recorded_wallet()
    extracted = (extract_trade(wallet.transaction(i), REAL_WALLET) for i in range(len(wallet)))
    return [trade for trade in extracted if trade is not None]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as made:
        yield made


async def test_every_trade_is_priced_and_the_volume_matches_the_export(
    emulator: Emulator, session: aiohttp.ClientSession, trades: list[Trade], export_total: tuple[int, Decimal]
) -> None:
    birdeye = birdeye_emulator_of(emulator.app)
    birdeye.latency_s = 0
    client = BirdeyeClient(session, base_url=emulator.url + BIRDEYE_PREFIX, api_key="test-key", rps=1000)
    prices = PriceChain(StablecoinPrices(), BirdeyePrices(client))

    started = time.monotonic()
    valued = await value_trades(trades, prices)
    elapsed = time.monotonic() - started

    rows, expected = export_total
    ours = sum((t.value_usd for t in valued if t.value_usd is not None), Decimal(0))
    print(
        f"\n{len(valued)} trades valued in {elapsed:.2f} s with {birdeye.requests} Birdeye requests;"
        f" total volume: ours {ours:,.2f} USD, export {expected:,.2f} USD ({rows} swap rows),"
        f" difference {(ours - expected) / expected:+.6%}"
    )
    assert len(valued) == rows
    assert [t for t in valued if t.value_usd is None] == []
    assert all(t.sol_price_usd is not None for t in valued)
    assert abs(ours - expected) <= expected * TOLERANCE
    assert birdeye.statuses.keys() == {200}
