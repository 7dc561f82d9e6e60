"""Trade extraction over the emulator's rebuilt history of the real wallet, against its export.

The emulator rebuilds the wallet's whole history (about 7.4k transactions)
in Helius shapes from the activity export
(:mod:`walletdoctor.helius.emulator.recorded`). Every transaction the export
files as a swap must give the export's trade (mints, amounts rounded to 6
decimals), and every other transaction none. A difference can only be
accepted by naming it, with its reason, in :data:`KNOWN_SWAP_DIFFERENCES` or
:data:`KNOWN_EXTRA_TRADES`; both are empty.
"""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from walletdoctor.analytics.extraction import extract_trade
from walletdoctor.analytics.trade import Trade
from walletdoctor.helius.emulator.recorded import load_recorded_wallet
from walletdoctor.solana import NATIVE_SOL_MINT

WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"
_MICRO = Decimal("0.000001")

ExportSwap = tuple[str, Decimal, str, Decimal]

#: Export swaps whose rebuilt transaction gives another trade (or none):
#: signature -> why. Empty: every one of the 6,483 gives the export's trade.
KNOWN_SWAP_DIFFERENCES: dict[str, str] = {}

#: Other transactions of the rebuilt history that give a trade: signature -> why.
KNOWN_EXTRA_TRADES: dict[str, str] = {}


def _export_swaps(shared_data_dir: Path) -> tuple[dict[str, ExportSwap], set[str]]:
    """Swap rows by signature (given mint, amount, got mint, amount), and every signature."""
    swaps: dict[str, ExportSwap] = {}
    signatures: set[str] = set()
    with (shared_data_dir / "exports" / "3JoVBiQE_activity_export.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            signatures.add(row["tx_hash"])
            if row["tx_type"] == "swap":
                swaps[row["tx_hash"]] = (
                    _mint(row["token0_address"]),
                    Decimal(row["token0_amount"]),
                    _mint(row["token1_address"]),
                    Decimal(row["token1_amount"]),
                )
    return swaps, signatures


def _mint(address: str) -> str:
    return NATIVE_SOL_MINT if address == "native" else address


def _round(amount: Decimal) -> Decimal:
    return amount.quantize(_MICRO, rounding=ROUND_HALF_UP)


def _as_export(trade: Trade | None) -> ExportSwap | None:
    if trade is None:
        return None
    return (trade.token_in_mint, _round(trade.amount_in), trade.token_out_mint, _round(trade.amount_out))


@pytest.fixture(scope="module")
def history() -> dict[str, dict[str, Any]]:
    """The rebuilt history's transactions by signature."""
    wallet = load_recorded_wallet()
    assert wallet.address == WALLET
    transactions = (wallet.transaction(index) for index in range(len(wallet)))
    return {transaction["signature"]: transaction for transaction in transactions}


@pytest.fixture(scope="module")
def extracted(history: dict[str, dict[str, Any]]) -> dict[str, Trade | None]:
    return {signature: extract_trade(transaction, WALLET) for signature, transaction in history.items()}


@pytest.fixture(scope="module")
def export(shared_data_dir: Path) -> tuple[dict[str, ExportSwap], set[str]]:
    return _export_swaps(shared_data_dir)


def test_rebuilt_history_covers_the_export(
    extracted: dict[str, Trade | None], export: tuple[dict[str, ExportSwap], set[str]]
) -> None:
    swaps, signatures = export
    assert len(swaps) == 6483
    assert signatures <= extracted.keys()


def test_every_export_swap_gives_the_export_trade(
    extracted: dict[str, Trade | None], export: tuple[dict[str, ExportSwap], set[str]]
) -> None:
    swaps, _ = export
    differences = {
        signature: (expected, _as_export(extracted[signature]))
        for signature, expected in swaps.items()
        if _as_export(extracted[signature]) != expected
    }
    assert {signature: pair for signature, pair in differences.items() if signature not in KNOWN_SWAP_DIFFERENCES} == {}
    assert differences.keys() == KNOWN_SWAP_DIFFERENCES.keys(), "a known difference is gone: drop it from the list"


def test_every_source_shape_is_covered(
    history: dict[str, dict[str, Any]], export: tuple[dict[str, ExportSwap], set[str]]
) -> None:
    """The comparison above spans every DEX shape the rebuilt history has."""
    swaps, _ = export
    sources = {history[signature]["source"] for signature in swaps}
    assert {"PUMP_AMM", "PUMP_FUN", "METEORA", "RAYDIUM", "JUPITER"} <= sources


def test_unscaled_wsol_quirks_give_the_export_trade(
    history: dict[str, dict[str, Any]],
    extracted: dict[str, Trade | None],
    export: tuple[dict[str, ExportSwap], set[str]],
) -> None:
    """The rebuilt history reproduces Helius' raw-lamport wSOL amounts on some swaps."""
    swaps, _ = export
    quirks = load_recorded_wallet().quirks["unscaled_wsol"]
    assert len(quirks) >= 10
    for signature in quirks:
        assert any(
            item["mint"] == NATIVE_SOL_MINT and float(item["tokenAmount"]).is_integer() and item["tokenAmount"] > 1000
            for item in history[signature]["tokenTransfers"]
        ), signature
        assert _as_export(extracted[signature]) == swaps[signature], signature


def test_no_other_transaction_gives_a_trade(
    extracted: dict[str, Trade | None], export: tuple[dict[str, ExportSwap], set[str]]
) -> None:
    swaps, _ = export
    extra = {signature: trade for signature, trade in extracted.items() if signature not in swaps and trade is not None}
    assert len(extracted) - len(swaps) > 900
    assert {signature: trade for signature, trade in extra.items() if signature not in KNOWN_EXTRA_TRADES} == {}
    assert extra.keys() == KNOWN_EXTRA_TRADES.keys(), "a known extra trade is gone: drop it from the list"
