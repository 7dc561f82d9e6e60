"""The trader's summary of the bundled real wallet, over real HTTP, checked against its third-party export.

The server streams the recorded history from the Helius emulator and prices
it through the Birdeye emulator (the production client code). The ground
truth is the wallet's activity export (``../shared/data/exports``), read
here without any of WalletDoctor's analytics: its own USD amounts for the
volume, and a FIFO cost basis written in this file for the realized P&L.
"""

from __future__ import annotations

import csv
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from walletdoctor.birdeye.emulator import birdeye_emulator_of
from walletdoctor.solana import NATIVE_SOL_MINT, USD_STABLECOIN_MINTS

from tests.conftest import REAL_WALLET, Emulator, ServerFactory, read_stream

#: Agreement required between the summary's total volume and the export's (issue 3).
VOLUME_TOLERANCE = Decimal("0.005")
_QUOTES = {NATIVE_SOL_MINT, *USD_STABLECOIN_MINTS}


@dataclass(frozen=True)
class ExportSwap:
    """One swap row of the export: what the wallet gave (token0) and got (token1)."""

    signature: str
    timestamp: int
    slot: int
    gave: str
    gave_amount: Decimal
    gave_usd: Decimal
    got: str
    got_amount: Decimal
    got_usd: Decimal
    sol_usd: Decimal | None

    @property
    def value_usd(self) -> Decimal:
        """The export's USD value of the swap: its stablecoin leg, else its SOL leg, else what was given."""
        legs = ((self.gave, self.gave_usd), (self.got, self.got_usd))
        for rank in (USD_STABLECOIN_MINTS, {NATIVE_SOL_MINT}):
            for mint, usd in legs:
                if mint in rank:
                    return usd
        return self.gave_usd


def _mint(address: str) -> str:
    return NATIVE_SOL_MINT if address == "native" else address


def read_export(shared_data_dir: Path) -> list[ExportSwap]:
    """The export's swap rows, oldest first as (timestamp, slot, signature)."""
    path = shared_data_dir / "exports" / "3JoVBiQE_activity_export.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["tx_type"] == "swap"]
    swaps = []
    for row in rows:
        legs = [(_mint(row[f"token{k}_address"]), row[f"token{k}_price_usd"]) for k in (0, 1)]
        sol_usd = next((Decimal(price) for mint, price in legs if mint == NATIVE_SOL_MINT and price), None)
        swaps.append(
            ExportSwap(
                signature=row["tx_hash"],
                timestamp=int(datetime.fromisoformat(row["timestamp"]).timestamp()),
                slot=int(row["block"]),
                gave=legs[0][0],
                gave_amount=Decimal(row["token0_amount"]),
                gave_usd=Decimal(row["token0_amount_usd"] or 0),
                got=legs[1][0],
                got_amount=Decimal(row["token1_amount"]),
                got_usd=Decimal(row["token1_amount_usd"] or 0),
                sol_usd=sol_usd,
            )
        )
    return sorted(swaps, key=lambda s: (s.timestamp, s.slot, s.signature))


@dataclass
class ExportBook:
    """Realized P&L by token from a plain FIFO over export rows (no WalletDoctor code).

    The rules are the documented ones (README, "The summary"): a lot costs
    what was paid plus the fee; a sale realizes its value (less the fee when
    nothing was got) minus its lots' cost, oldest first, zero for what was
    never bought; a token-to-token swap sells one token and buys the other
    at the same value. SOL values are the SOL leg, else USD at the latest
    SOL price of the export.
    """

    pnl_usd: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    pnl_sol: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    sales: int = 0
    winning_sales: int = 0

    @classmethod
    def of(cls, swaps: Iterable[ExportSwap], fees_sol: dict[str, Decimal]) -> ExportBook:
        book = cls()
        lots: dict[str, deque[list[Decimal]]] = defaultdict(deque)
        sol_usd = Decimal(0)
        for swap in swaps:
            sol_usd = swap.sol_usd or sol_usd
            value_usd = swap.value_usd
            if NATIVE_SOL_MINT in (swap.gave, swap.got):
                value_sol = swap.gave_amount if swap.gave == NATIVE_SOL_MINT else swap.got_amount
            else:
                value_sol = value_usd / sol_usd
            fee_sol = fees_sol[swap.signature]
            fee_usd = fee_sol * sol_usd
            acquires = swap.got not in _QUOTES
            if swap.gave not in _QUOTES:
                proceeds_sol = value_sol if acquires else value_sol - fee_sol
                proceeds_usd = value_usd if acquires else value_usd - fee_usd
                cost_sol, cost_usd = book._consume(lots[swap.gave], swap.gave_amount)
                book.pnl_sol[swap.gave] += proceeds_sol - cost_sol
                book.pnl_usd[swap.gave] += proceeds_usd - cost_usd
                book.sales += 1
                book.winning_sales += proceeds_usd - cost_usd > 0
            if acquires and swap.got_amount > 0:
                lots[swap.got].append([swap.got_amount, value_sol + fee_sol, value_usd + fee_usd])
        return book

    @staticmethod
    def _consume(lots: deque[list[Decimal]], amount: Decimal) -> tuple[Decimal, Decimal]:
        cost_sol = cost_usd = Decimal(0)
        while amount > 0 and lots:
            lot_amount, lot_sol, lot_usd = lots[0]
            if lot_amount <= amount:
                lots.popleft()
                amount -= lot_amount
                cost_sol, cost_usd = cost_sol + lot_sol, cost_usd + lot_usd
            else:
                share = amount / lot_amount
                cost_sol, cost_usd = cost_sol + lot_sol * share, cost_usd + lot_usd * share
                lots[0] = [lot_amount - amount, lot_sol * (1 - share), lot_usd * (1 - share)]
                amount = Decimal(0)
        return cost_sol, cost_usd


@pytest.fixture
async def base(emulator: Emulator, walletdoctor: ServerFactory) -> str:
    birdeye_emulator_of(emulator.app).latency_s = 0
    return await walletdoctor(birdeye_rps=1000)


async def get_summary(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=120) as client:
        response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def is_sale(trade: dict[str, Any]) -> bool:
    """A trade that sells a token position: a sell, or the given leg of a token-to-token swap."""
    return trade["token_in_mint"] not in _QUOTES


async def test_every_swap_is_priced_and_the_volume_matches_the_export(base: str, shared_data_dir: Path) -> None:
    body = await get_summary(f"{base}/v4/wallet/{REAL_WALLET}/summary")
    swaps = read_export(shared_data_dir)
    summary = body["summary"]
    export_volume = sum((swap.value_usd for swap in swaps), Decimal(0))
    ours = Decimal(summary["total_volume_usd"])
    print(f"\ntotal volume: ours {ours:,.2f} USD, export {export_volume:,.2f} USD, {(ours - export_volume) / export_volume:+.4%}")
    assert body["wallet"] == REAL_WALLET and body["trades_found"] == summary["trades_found"] == len(swaps) == 6483
    assert summary["priced_trades"] == summary["trades_found"]
    assert abs(ours - export_volume) <= export_volume * VOLUME_TOLERANCE
    assert (summary["buys"], summary["sells"], summary["swaps"]) == (3493, 2974, 16)
    tokens = summary["tokens"]
    assert len(tokens) == summary["tokens_traded"] == 817
    assert [t["symbol"] for t in tokens[:5]] == ["GOONC", "gork", "KLED", "YAPPER", "KNET"]  # named by DAS


async def test_oldest_first_sales_carry_pnl_that_sums_to_the_summary_and_agrees_with_the_export(
    base: str, shared_data_dir: Path
) -> None:
    record = await read_stream(f"{base}/v4/wallet/{REAL_WALLET}/stream?order=asc&batch_size=1000", timeout=120)
    assert record.last.event == "complete"
    trades = record.trades()
    summary = record.data("complete")[0]["summary"]
    assert [(t["timestamp"], t["slot"]) for t in trades] == sorted((t["timestamp"], t["slot"]) for t in trades)

    # Every sale streams its realized P&L in both currencies, and nothing else carries one.
    sales = [t for t in trades if is_sale(t)]
    assert len(sales) == summary["sales"] == summary["sales_with_pnl_usd"] == summary["sales_with_pnl_sol"] == 2974
    assert all(t["pnl_usd"] is not None and t["pnl_sol"] is not None for t in sales)
    assert all(t["pnl_usd"] is None and t["pnl_sol"] is None for t in trades if not is_sale(t))
    # ... and they add up to the summary's realized P&L (each is sent to 18 significant digits).
    streamed_usd = sum((Decimal(t["pnl_usd"]) for t in sales), Decimal(0))
    streamed_sol = sum((Decimal(t["pnl_sol"]) for t in sales), Decimal(0))
    assert abs(streamed_usd - Decimal(summary["realized_pnl_usd"])) < Decimal("1e-9")
    assert abs(streamed_sol - Decimal(summary["realized_pnl_sol"])) < Decimal("1e-9")
    wins = sum(Decimal(t["pnl_usd"]) > 0 for t in sales)
    assert abs(Decimal(summary["win_rate"]) - Decimal(wins) / Decimal(len(sales))) < Decimal("1e-15")

    # The summary endpoint (newest first by default) gives the same summary.
    endpoint = (await get_summary(f"{base}/v4/wallet/{REAL_WALLET}/summary"))["summary"]
    assert endpoint == summary

    # An independent FIFO over the export's own amounts and USD values, with our fees.
    export = ExportBook.of(read_export(shared_data_dir), {t["signature"]: Decimal(t["fee_sol"]) for t in trades})
    ours_usd, ours_sol = Decimal(summary["realized_pnl_usd"]), Decimal(summary["realized_pnl_sol"])
    theirs_usd, theirs_sol = sum(export.pnl_usd.values(), Decimal(0)), sum(export.pnl_sol.values(), Decimal(0))
    print(
        f"\nrealized P&L: ours {ours_usd:,.2f} USD / {ours_sol:,.4f} SOL, export FIFO {theirs_usd:,.2f} USD /"
        f" {theirs_sol:,.4f} SOL; win rate ours {Decimal(summary['win_rate']):.4f},"
        f" export {Decimal(export.winning_sales) / export.sales:.4f}; token win rate {Decimal(summary['token_win_rate']):.4f}"
    )
    assert export.sales == len(sales)
    # USD differs by the prices: Birdeye's point nearest each trade against the export's own.
    assert abs(ours_usd - theirs_usd) <= abs(theirs_usd) * Decimal("0.001")
    # SOL differs only by the export's amounts, rounded to 6 decimals.
    assert abs(ours_sol - theirs_sol) <= Decimal("0.001")
    assert abs(Decimal(summary["win_rate"]) - Decimal(export.winning_sales) / export.sales) < Decimal("0.002")
    top_five = summary["tokens"][:5]
    theirs_top = sorted(export.pnl_usd, key=lambda mint: -export.pnl_usd[mint])[:5]
    assert [t["mint"] for t in top_five] == theirs_top
    for token in top_five:
        print(f"  {token['symbol']:>8} {token['mint']}: {Decimal(token['realized_pnl_usd']):,.2f} USD,"
              f" {Decimal(token['realized_pnl_sol']):,.4f} SOL, ROI {Decimal(token['roi']):.2%}")  # fmt: skip
        theirs_token_usd, theirs_token_sol = export.pnl_usd[token["mint"]], export.pnl_sol[token["mint"]]
        assert abs(Decimal(token["realized_pnl_usd"]) - theirs_token_usd) <= abs(theirs_token_usd) * Decimal("0.002")
        assert abs(Decimal(token["realized_pnl_sol"]) - theirs_token_sol) <= abs(theirs_token_sol) * Decimal("0.0005")
