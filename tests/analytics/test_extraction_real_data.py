"""Trade extraction against the real wallet's recorded Helius payloads and its activity export.

Ground truth is the third-party export (``exports/3JoVBiQE_activity_export.csv``):
a swap row's ``token0_*`` is what the wallet gave, ``token1_*`` what it got,
in UI units rounded to 6 decimals; ``native`` stands for SOL.
"""

from __future__ import annotations

import csv
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from walletdoctor.analytics.extraction import extract_trade
from walletdoctor.analytics.trade import Side, Trade
from walletdoctor.solana import NATIVE_SOL_MINT

WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"
LUB_MINT = "2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon"
_MICRO = Decimal("0.000001")

ExportSwap = tuple[str, Decimal, str, Decimal]


def _export_swaps(shared_data_dir: Path) -> dict[str, ExportSwap]:
    """Swap rows of the export by signature: (given mint, given amount, got mint, got amount)."""
    swaps: dict[str, ExportSwap] = {}
    with (shared_data_dir / "exports" / "3JoVBiQE_activity_export.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["tx_type"] == "swap":
                swaps[row["tx_hash"]] = (
                    _mint(row["token0_address"]),
                    Decimal(row["token0_amount"]),
                    _mint(row["token1_address"]),
                    Decimal(row["token1_amount"]),
                )
    return swaps


def _mint(address: str) -> str:
    return NATIVE_SOL_MINT if address == "native" else address


def _as_export(trade: Trade) -> ExportSwap:
    return (
        trade.token_in_mint,
        trade.amount_in.quantize(_MICRO, rounding=ROUND_HALF_UP),
        trade.token_out_mint,
        trade.amount_out.quantize(_MICRO, rounding=ROUND_HALF_UP),
    )


def _load(shared_data_dir: Path, name: str) -> Any:
    return json.loads((shared_data_dir / "helius" / name).read_text())


@pytest.fixture(scope="module")
def export_swaps(shared_data_dir: Path) -> dict[str, ExportSwap]:
    return _export_swaps(shared_data_dir)


@pytest.fixture(scope="module")
def page(shared_data_dir: Path) -> list[dict[str, Any]]:
    transactions: list[dict[str, Any]] = _load(shared_data_dir, "3JoVBiQE_address_transactions_page1.json")
    return transactions


def test_page_swaps_match_the_export(page: list[dict[str, Any]], export_swaps: dict[str, ExportSwap]) -> None:
    swaps = [tx for tx in page if tx["signature"] in export_swaps]
    assert len(swaps) == 4
    for tx in swaps:
        trade = extract_trade(tx, WALLET)
        assert trade is not None, tx["signature"]
        assert _as_export(trade) == export_swaps[tx["signature"]], tx["signature"]
        assert (trade.signature, trade.slot, trade.timestamp, trade.source) == (
            tx["signature"],
            tx["slot"],
            tx["timestamp"],
            "RAYDIUM",
        )


def test_page_non_swaps_yield_no_trade(page: list[dict[str, Any]], export_swaps: dict[str, ExportSwap]) -> None:
    others = [tx for tx in page if tx["signature"] not in export_swaps]
    assert len(others) == 16
    assert [extract_trade(tx, WALLET) for tx in others] == [None] * 16


def test_multi_hop_sell_is_lub_for_sol_not_helius_usdc_for_sol(page: list[dict[str, Any]]) -> None:
    """Regression: Helius calls the lub sell ``5g5rkbqii8...`` a USDC -> SOL swap.

    Both its ``description`` and its ``events.swap`` say so; the wallet sold
    lub, and USDC was a middle hop of the route.
    """
    (tx,) = [tx for tx in page if tx["signature"].startswith("5g5rkbqii8")]
    assert "11.493485 USDC for 0.077849895 SOL" in tx["description"]
    assert tx["events"]["swap"]["tokenInputs"][0]["mint"] != LUB_MINT

    trade = extract_trade(tx, WALLET)

    assert trade is not None
    assert (trade.token_in_mint, trade.amount_in) == (LUB_MINT, Decimal("1986656.546333"))
    assert (trade.token_out_mint, trade.amount_out) == (NATIVE_SOL_MINT, Decimal("0.077849895"))
    assert trade.side is Side.SELL
    # network fee 8,005,000 lamports + a 0.012 SOL tip + Photon's 1 % (778,498 lamports)
    assert trade.fee_sol == Decimal("0.020783498")


def test_photon_buy_keeps_platform_fee_and_own_rent_out_of_the_amount(page: list[dict[str, Any]]) -> None:
    (tx,) = [tx for tx in page if tx["signature"].startswith("4EeVbfsnYj")]

    trade = extract_trade(tx, WALLET)

    assert trade is not None
    assert (trade.token_in_mint, trade.amount_in) == (NATIVE_SOL_MINT, Decimal("1.98"))
    # fee 0.008005 + tip 0.012 + Photon 0.02; the 0.00203928 SOL of rent for
    # the wallet's own new lub account is internal
    assert trade.fee_sol == Decimal("0.040005")


def _sample_transactions(shared_data_dir: Path) -> list[dict[str, Any]]:
    samples = _load(shared_data_dir, "3JoVBiQE_partial_samples.json")
    pump_amm = _load(shared_data_dir, "3JoVBiQE_pump_amm_partial.json")
    return [*samples["with_swap_event"], *samples["without_swap_event"], pump_amm]


def test_partial_samples_match_the_export(shared_data_dir: Path, export_swaps: dict[str, ExportSwap]) -> None:
    transactions = _sample_transactions(shared_data_dir)
    assert len(transactions) == 14
    for tx in transactions:
        trade = extract_trade(tx, WALLET)
        assert trade is not None, tx["signature"]
        assert _as_export(trade) == export_swaps[tx["signature"]], tx["signature"]
        assert trade.slot == 0
        assert trade.source == tx["source"]


def test_pump_amm_buy_reports_the_pool_leg(shared_data_dir: Path) -> None:
    """``5k9gGESAP5...``: the amount given is the pool leg, the fee legs are fees.

    1.97802592 wSOL go to the pool plus two 0.000987039 fee legs; the export
    reports the pool leg (1.978026).
    """
    samples = _load(shared_data_dir, "3JoVBiQE_partial_samples.json")["without_swap_event"]
    (tx,) = [tx for tx in samples if tx["signature"].startswith("5k9gGESAP5")]

    trade = extract_trade(tx, WALLET)

    assert trade is not None
    assert trade.amount_in == Decimal("1.97802592")
    assert trade.fee_sol == Decimal("0.001974078")


def test_meteora_sums_the_legs_when_no_outflow_reaches_a_counterparty(shared_data_dir: Path) -> None:
    samples = _load(shared_data_dir, "3JoVBiQE_partial_samples.json")["without_swap_event"]
    by_prefix = {tx["signature"][:8]: tx for tx in samples}

    buy = extract_trade(by_prefix["5bmMy2Zp"], WALLET)
    sell = extract_trade(by_prefix["2oywWG3d"], WALLET)

    assert buy is not None and sell is not None
    assert buy.amount_in == Decimal("0.0693") + Decimal("34.5807")
    assert sell.amount_in == Decimal("1113.140597154") + Decimal("555457.157979893")


def test_native_transfers_given_as_one_object_is_read_as_a_tip(shared_data_dir: Path) -> None:
    """``3JoVBiQE_pump_amm_partial.json`` has ``nativeTransfers`` as an object, not a list."""
    tx = _load(shared_data_dir, "3JoVBiQE_pump_amm_partial.json")
    assert isinstance(tx["nativeTransfers"], dict)

    trade = extract_trade(tx, WALLET)

    assert trade is not None
    assert trade.amount_out == Decimal("2.201676608")
    assert trade.fee_sol == Decimal("0.012")
