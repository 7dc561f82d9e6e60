"""The wallet summary of the ``complete`` event: its shape, totals, win rates and per-token stats."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from walletdoctor.analytics.pnl import CostBasisMethod
from walletdoctor.analytics.summary import WalletSummary
from walletdoctor.analytics.trade import Trade
from walletdoctor.solana import NATIVE_SOL_MINT as SOL
from walletdoctor.solana import USDC_MINT as USDC

TOK = "B91Nyc6SnWqr5DRR34eEMKuZrWh4zBhW9VhX4UNLpump"
LUB = "2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon"
AIR = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"


def _trade(
    ts: int, give: str, given_amount: str, get: str, got_amount: str, fee: str = "0", usd: str | None = None,
    sol_usd: str | None = None, symbols: tuple[str | None, str | None] = (None, None),
) -> Trade:  # fmt: skip
    return Trade(
        signature=f"sig{ts}",
        slot=ts,
        timestamp=ts,
        source="PUMP_AMM",
        token_in_mint=give,
        token_out_mint=get,
        amount_in=Decimal(given_amount),
        amount_out=Decimal(got_amount),
        fee_sol=Decimal(fee),
        token_in=symbols[0],
        token_out=symbols[1],
        value_usd=None if usd is None else Decimal(usd),
        sol_price_usd=None if sol_usd is None else Decimal(sol_usd),
    )


HISTORY = [
    _trade(50, SOL, "1", USDC, "150", fee="0.001", usd="150", sol_usd="150"),  # moves no position
    # TOK, priced: the FIFO example of test_pnl (+266 USD, then -75 USD; +1.27 SOL in all).
    _trade(100, SOL, "1", TOK, "100", fee="0.01", usd="100", sol_usd="100", symbols=("SOL", "TOK")),
    _trade(200, SOL, "1", TOK, "50", usd="200", sol_usd="200"),
    _trade(300, TOK, "120", SOL, "3", fee="0.02", usd="450", sol_usd="150"),
    _trade(400, TOK, "30", SOL, "0.3", usd="45", sol_usd="150"),
    # LUB, unpriced: 1000 for 1 SOL, 400 of them sold for 0.2 SOL (cost 0.4): -0.2 SOL, 600 still open.
    _trade(150, SOL, "1", LUB, "1000"),
    _trade(250, LUB, "400", SOL, "0.2"),
    # AIR, never bought: 5 airdropped tokens sold for 0.1 SOL, all profit.
    _trade(260, AIR, "5", SOL, "0.1"),
]


@pytest.fixture
def summary() -> dict[str, object]:
    builder = WalletSummary()
    for trade in reversed(HISTORY):
        builder.add(trade)
    return builder.to_summary({LUB: "LUB", TOK: "ignored: the trade named it"})


def test_totals(summary: dict[str, object]) -> None:
    tokens = summary.pop("tokens")
    assert summary == {
        "trades_found": 8,
        "priced_trades": 5,
        "total_volume_usd": "945",  # 150 + 100 + 200 + 450 + 45
        "total_fees_sol": "0.031",
        "realized_pnl_usd": "191",  # TOK only: the other sales have no USD value
        "realized_pnl_sol": "1.17",  # 1.27 - 0.2 + 0.1
        "sales": 4,
        "sales_with_pnl_usd": 2,
        "sales_with_pnl_sol": 4,
        "win_rate": "0.5",  # TOK +266 USD, TOK -75 USD, LUB -0.2 SOL, AIR +0.1 SOL
        "token_win_rate": "0.666666666666666667",  # TOK (+191 USD) and AIR (+0.1 SOL) of three
        "buys": 3,
        "sells": 5,  # four token sales and SOL sold for USDC
        "swaps": 0,
        "tokens_traded": 3,
        "first_trade_at": 50,
        "last_trade_at": 400,
        "cost_basis_method": "fifo",
    }
    assert isinstance(tokens, list) and [t["mint"] for t in tokens] == [TOK, AIR, LUB]  # USD P&L, then SOL P&L


def test_token_stats(summary: dict[str, object]) -> None:
    tok, air, lub = summary["tokens"]  # type: ignore[misc]
    assert tok == {
        "mint": TOK,
        "symbol": "TOK",
        "buys": 2,
        "sells": 2,
        "volume_usd": "795",
        "realized_pnl_usd": "191",
        "realized_pnl_sol": "1.27",
        "roi": "0.634551495016611296",  # 191 / 301 USD of cost sold
        "roi_sol": "0.631840796019900498",  # 1.27 / 2.01
        "first_trade_at": 100,
        "last_trade_at": 400,
        "first_buy_at": 100,
        "last_sell_at": 400,
        "holding_time_s": 300,  # closed: first buy to last sale
        "open_amount": "0",
        "open_cost_basis_usd": "0",
        "open_cost_basis_sol": "0",
        "unmatched_sell_amount": "0",
    }
    assert lub["symbol"] == "LUB" and lub["realized_pnl_usd"] is None and lub["realized_pnl_sol"] == "-0.2"
    assert (lub["roi"], lub["roi_sol"]) == (None, "-0.5")
    assert (lub["open_amount"], lub["open_cost_basis_sol"], lub["open_cost_basis_usd"]) == ("600", "0.6", None)
    assert lub["holding_time_s"] == 100  # still open: first buy (150) to the last trade (250)
    assert air["symbol"] is None and air["unmatched_sell_amount"] == "5" and air["realized_pnl_sol"] == "0.1"
    assert (air["roi_sol"], air["holding_time_s"], air["first_buy_at"]) == (None, None, None)  # zero cost, no buy


def test_summary_is_json_ready(summary: dict[str, object]) -> None:
    assert orjson.loads(orjson.dumps(summary)) == summary


def test_average_cost_is_named_and_changes_per_sale_results_only() -> None:
    builder = WalletSummary(CostBasisMethod.AVERAGE)
    for trade in HISTORY:
        builder.add(trade)
    result = builder.to_summary()
    assert result["cost_basis_method"] == "average"
    assert (result["realized_pnl_usd"], result["realized_pnl_sol"]) == ("191", "1.17")  # TOK is closed either way


def test_empty_wallet() -> None:
    result = WalletSummary().to_summary()
    assert result["trades_found"] == 0 and result["tokens"] == []
    assert (result["realized_pnl_usd"], result["realized_pnl_sol"]) == ("0", "0")
    assert (result["win_rate"], result["token_win_rate"]) == (None, None)
    assert (result["first_trade_at"], result["last_trade_at"]) == (None, None)


def test_token_only_bought_has_zero_realized_and_no_rates() -> None:
    builder = WalletSummary()
    builder.add(_trade(10, SOL, "2", TOK, "20", usd="300", sol_usd="150"))
    builder.add(_trade(30, SOL, "1", TOK, "5", usd="150", sol_usd="150"))
    result = builder.to_summary()
    (token,) = result["tokens"]
    assert (token["realized_pnl_usd"], token["roi"], token["holding_time_s"]) == ("0", None, 20)
    assert (token["open_amount"], token["open_cost_basis_usd"], token["open_cost_basis_sol"]) == ("25", "450", "3")
    assert (result["win_rate"], result["token_win_rate"]) == (None, None)


def test_swaps_count_for_both_tokens() -> None:
    builder = WalletSummary()
    builder.add(_trade(1, SOL, "1", TOK, "100", usd="100", sol_usd="100"))
    builder.add(_trade(2, TOK, "100", LUB, "7", usd="120", sol_usd="100"))
    result = builder.to_summary()
    assert (result["buys"], result["sells"], result["swaps"], result["sales"]) == (1, 0, 1, 1)
    by_mint = {t["mint"]: t for t in result["tokens"]}
    assert (by_mint[TOK]["sells"], by_mint[TOK]["realized_pnl_usd"], by_mint[TOK]["volume_usd"]) == (1, "20", "220")
    assert (by_mint[LUB]["buys"], by_mint[LUB]["open_cost_basis_sol"], by_mint[LUB]["volume_usd"]) == (1, "1.2", "120")


def test_trades_found_counts_as_trades_arrive() -> None:
    builder = WalletSummary()
    builder.add(HISTORY[0])
    builder.add(HISTORY[1])
    assert builder.trades_found == 2


def test_unorderable_trade_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be ordered"):
        WalletSummary().add(_trade(-1, SOL, "1", TOK, "1"))


def test_a_big_history_spilled_to_disk_books_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past RUN_RECORDS records the summary sorts runs to temporary files and merges them
    (a 200k-trade wallet would otherwise hold 48 MB): the result must not change."""
    history = [
        _trade(1000 + n, SOL, "1", TOK, str(10 + n % 7), usd="100", sol_usd="100")
        if n % 3
        else _trade(1000 + n, TOK, str(5 + n % 4), SOL, "0.7", usd="70", sol_usd="100")
        for n in range(60)
    ]
    in_memory = WalletSummary()
    for trade in reversed(history):
        in_memory.add(trade)
    monkeypatch.setattr("walletdoctor.analytics.summary.RUN_RECORDS", 7)
    spilled = WalletSummary()
    for trade in reversed(history):
        spilled.add(trade)
    assert len(spilled._runs) == 60 // 7
    assert spilled.to_summary() == in_memory.to_summary()
    assert spilled.to_summary() == in_memory.to_summary(), "booking twice reads the runs again"
    spilled.close()
    assert spilled._runs == []
