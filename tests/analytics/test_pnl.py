"""Cost basis and realized P&L: hand-computed books, then invariants over generated histories."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walletdoctor.analytics.pnl import BookEntry, CostBasisMethod, PnlTracker, PositionBook, Sale
from walletdoctor.analytics.summary import WalletSummary
from walletdoctor.analytics.trade import Trade
from walletdoctor.analytics.trade import decimal_text
from walletdoctor.solana import NATIVE_SOL_MINT as SOL
from walletdoctor.solana import USDC_MINT as USDC

TOK = "B91Nyc6SnWqr5DRR34eEMKuZrWh4zBhW9VhX4UNLpump"
LUB = "2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon"
D = Decimal


def _trade(
    ts: int, give: str, given_amount: str, get: str, got_amount: str, fee: str = "0", usd: str | None = None,
    sol_usd: str | None = None, sig: str | None = None,
) -> Trade:  # fmt: skip
    return Trade(
        signature=sig or f"sig{ts}",
        slot=ts,
        timestamp=ts,
        source="RAYDIUM",
        token_in_mint=give,
        token_out_mint=get,
        amount_in=D(given_amount),
        amount_out=D(got_amount),
        fee_sol=D(fee),
        value_usd=None if usd is None else D(usd),
        sol_price_usd=None if sol_usd is None else D(sol_usd),
    )


def _book(trades: list[Trade], method: CostBasisMethod = CostBasisMethod.FIFO) -> tuple[PositionBook, list[Sale | None]]:
    book = PositionBook(method)
    return book, [book.apply(BookEntry.of(t)) for t in trades]


# Two lots, then a sale that takes all of the first and part of the second, then the rest.
# SOL/USD is 100, then 200, then 150.
TWO_LOTS = [
    _trade(1, SOL, "1", TOK, "100", fee="0.01", usd="100", sol_usd="100"),  # lot A: 100 TOK for 1.01 SOL, 101 USD
    _trade(2, SOL, "1", TOK, "50", usd="200", sol_usd="200"),  # lot B: 50 TOK for 1 SOL, 200 USD
    _trade(3, TOK, "120", SOL, "3", fee="0.02", usd="450", sol_usd="150"),
    _trade(4, TOK, "30", SOL, "0.3", usd="45", sol_usd="150"),
]


def test_fifo_takes_the_oldest_lot_first_and_splits_the_next() -> None:
    book, sales = _book(TWO_LOTS)
    first, last = sales[2], sales[3]
    assert first is not None and last is not None
    # Proceeds: 3 - 0.02 fee = 2.98 SOL; 450 - 0.02 x 150 = 447 USD.
    assert (first.proceeds_sol, first.proceeds_usd) == (D("2.98"), D("447"))
    # Cost: all of lot A (1.01 SOL, 101 USD) + 20/50 of lot B (0.4 SOL, 80 USD).
    assert (first.cost_basis_sol, first.cost_basis_usd) == (D("1.41"), D("181"))
    assert (first.realized_pnl_sol, first.realized_pnl_usd) == (D("1.57"), D("266"))  # 2.98 - 1.41; 447 - 181
    assert (first.matched_amount, first.unmatched_amount) == (D("120"), D("0"))
    # The last 30 of lot B cost 1 - 0.4 = 0.6 SOL, 200 - 80 = 120 USD; sold for 0.3 SOL, 45 USD.
    assert (last.realized_pnl_sol, last.realized_pnl_usd) == (D("-0.3"), D("-75"))
    position = book.positions[TOK]
    assert position.open_amount == 0 and not position.lots
    assert (position.realized_pnl_sol, position.realized_pnl_usd) == (D("1.27"), D("191"))
    assert (book.sales, book.judged_sales, book.winning_sales) == (2, 2, 1)


def test_average_cost_pools_the_lots() -> None:
    book, sales = _book(TWO_LOTS, CostBasisMethod.AVERAGE)
    first, last = sales[2], sales[3]
    assert first is not None and last is not None
    # Pool: 150 TOK for 2.01 SOL / 301 USD. 120 of them cost 2.01 x 120/150 = 1.608 SOL, 301 x 0.8 = 240.8 USD.
    assert (first.cost_basis_sol, first.cost_basis_usd) == (D("1.608"), D("240.8"))
    assert (first.realized_pnl_sol, first.realized_pnl_usd) == (D("1.372"), D("206.2"))  # 2.98 - 1.608; 447 - 240.8
    # The remaining 30 cost 2.01 - 1.608 = 0.402 SOL, 301 - 240.8 = 60.2 USD.
    assert (last.realized_pnl_sol, last.realized_pnl_usd) == (D("-0.102"), D("-15.2"))
    # Over the closed round trip both methods realize proceeds - cost: 3.28 - 2.01 SOL, 492 - 301 USD.
    assert (book.realized_pnl_sol, book.realized_pnl_usd) == (D("1.27"), D("191"))


def test_open_position_keeps_its_remaining_cost() -> None:
    book, _ = _book(TWO_LOTS[:3])
    position = book.positions[TOK]
    assert position.open_amount == D("30")
    assert (position.open_cost_basis_sol, position.open_cost_basis_usd) == (D("0.6"), D("120"))
    assert position.holding_time_s == 2  # still open: first buy (1) to the last trade (3)


def test_sell_before_any_buy_has_zero_basis_and_is_flagged() -> None:
    book, sales = _book(
        [
            _trade(1, TOK, "10", SOL, "0.5", fee="0.005"),  # airdropped tokens: 0.5 - 0.005 = 0.495 SOL, all profit
            _trade(2, SOL, "1", TOK, "10"),  # 10 TOK for 1 SOL
            _trade(3, TOK, "15", SOL, "3"),  # 10 matched (cost 1 SOL) + 5 beyond the buys (cost 0): 3 - 1 = 2
            _trade(4, SOL, "0.4", TOK, "4"),
        ]
    )
    airdrop, mixed = sales[0], sales[2]
    assert airdrop is not None and mixed is not None
    assert (airdrop.matched_amount, airdrop.unmatched_amount, airdrop.realized_pnl_sol) == (0, D("10"), D("0.495"))
    assert airdrop.realized_pnl_usd is None  # no USD value, no USD P&L
    assert (mixed.matched_amount, mixed.unmatched_amount, mixed.cost_basis_sol) == (D("10"), D("5"), D("1"))
    assert mixed.realized_pnl_sol == D("2")
    position = book.positions[TOK]
    assert position.unmatched_amount == D("15")
    assert position.open_amount == D("4") and position.open_cost_basis_sol == D("0.4")  # no negative lot carried
    assert position.holding_time_s == 2  # first buy (2) to the last trade (4): still open


def test_token_to_token_swap_sells_one_and_buys_the_other_at_the_same_value() -> None:
    book, sales = _book(
        [
            _trade(1, SOL, "1", TOK, "100", usd="100", sol_usd="100"),
            # Worth 150 USD at 120 USD/SOL = 1.25 SOL; fee 0.01 SOL = 1.2 USD goes to the new LUB lot.
            _trade(2, TOK, "100", LUB, "500", fee="0.01", usd="150", sol_usd="120"),
            _trade(3, LUB, "500", SOL, "2", usd="200", sol_usd="100"),
        ]
    )
    swap, sell = sales[1], sales[2]
    assert swap is not None and sell is not None and swap.mint == TOK
    assert (swap.proceeds_sol, swap.proceeds_usd) == (D("1.25"), D("150"))
    assert (swap.realized_pnl_sol, swap.realized_pnl_usd) == (D("0.25"), D("50"))  # 1.25 - 1; 150 - 100
    # LUB cost 1.25 + 0.01 = 1.26 SOL and 150 + 1.2 = 151.2 USD; sold for 2 SOL, 200 USD.
    assert (sell.realized_pnl_sol, sell.realized_pnl_usd) == (D("0.74"), D("48.8"))
    assert (book.positions[TOK].sells, book.positions[LUB].buys) == (1, 1)


def test_unpriced_swap_leaves_both_currencies_unknown_downstream() -> None:
    book, sales = _book(
        [
            _trade(1, SOL, "1", TOK, "100"),
            _trade(2, TOK, "100", LUB, "500"),  # no USD value, no SOL leg: value unknown in SOL too
            _trade(3, LUB, "500", SOL, "2"),
        ]
    )
    assert sales[1] is not None and sales[1].realized_pnl_sol is None
    assert sales[2] is not None and sales[2].cost_basis_sol is None and sales[2].realized_pnl_sol is None
    assert (book.sales, book.sales_with_pnl_sol, book.judged_sales) == (2, 0, 0)


def test_stablecoin_quoted_trades_convert_through_the_sol_price() -> None:
    _, sales = _book(
        [
            # 50 USD at 125 USD/SOL = 0.4 SOL; cost 0.404 SOL, 50 + 0.004 x 125 = 50.5 USD.
            _trade(1, USDC, "50", TOK, "1000", fee="0.004", usd="50", sol_usd="125"),
            # 80 USD at 160 USD/SOL = 0.5 SOL; proceeds 0.495 SOL, 80 - 0.005 x 160 = 79.2 USD.
            _trade(2, TOK, "1000", USDC, "80", fee="0.005", usd="80", sol_usd="160"),
        ]
    )
    sale = sales[1]
    assert sale is not None
    assert (sale.realized_pnl_sol, sale.realized_pnl_usd) == (D("0.091"), D("28.7"))


def test_stablecoin_trade_without_a_sol_price_has_usd_pnl_only() -> None:
    _, sales = _book([_trade(1, USDC, "50", TOK, "10", usd="50"), _trade(2, TOK, "10", USDC, "60", usd="60")])
    sale = sales[1]
    assert sale is not None and (sale.realized_pnl_usd, sale.realized_pnl_sol) == (D("10"), None)
    assert sale.outcome == D("10")


def test_fee_without_a_sol_price_makes_usd_cost_unknown() -> None:
    _, sales = _book([_trade(1, USDC, "50", TOK, "10", fee="0.001", usd="50"), _trade(2, TOK, "10", USDC, "60", usd="60")])
    assert sales[1] is not None and sales[1].realized_pnl_usd is None


def test_fifo_recovers_once_an_unknown_cost_lot_is_sold() -> None:
    _, sales = _book(
        [
            _trade(1, USDC, "50", TOK, "10", usd="50"),  # no SOL price: this lot's SOL cost is unknown
            _trade(2, SOL, "1", TOK, "10"),
            _trade(3, TOK, "10", SOL, "2"),
            _trade(4, TOK, "10", SOL, "3"),  # only the 1-SOL lot is left: 3 - 1
        ]
    )
    assert sales[2] is not None and sales[2].realized_pnl_sol is None
    assert sales[3] is not None and sales[3].realized_pnl_sol == D("2")


def test_sol_for_stablecoin_moves_no_position() -> None:
    book, sales = _book([_trade(1, SOL, "1", USDC, "150", fee="0.001", usd="150"), _trade(2, USDC, "150", SOL, "1")])
    assert sales == [None, None] and not book.positions


def test_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        PositionBook().apply(BookEntry.of(_trade(1, SOL, "-1", TOK, "1")))


def test_tracker_sets_pnl_on_sales_only() -> None:
    tracker = PnlTracker()
    out = [tracker.apply(t) for t in TWO_LOTS]
    assert [(t.pnl_sol, t.pnl_usd) for t in out] == [(None, None), (None, None), (D("1.57"), D("266")), (D("-0.3"), D("-75"))]
    assert out[0] is TWO_LOTS[0]
    assert out[2].to_wire()["pnl_usd"] == "266" and out[2].to_wire()["pnl_sol"] == "1.57"


# Generated histories: a few tokens traded against SOL, USDC and each other, with
# optional USD values and SOL prices, colliding timestamps and slots.

_amounts = st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False)
_prices = st.none() | st.decimals(min_value=1, max_value=500, places=2, allow_nan=False, allow_infinity=False)
_legs = st.sampled_from([(SOL, TOK), (SOL, LUB), (TOK, SOL), (LUB, SOL), (USDC, TOK), (TOK, USDC), (TOK, LUB), (SOL, USDC)])


@st.composite
def _histories(draw: st.DrawFn) -> list[Trade]:
    trades = []
    for n in range(draw(st.integers(0, 40))):
        give, get = draw(_legs)
        ts = draw(st.integers(0, 15))
        trades.append(
            Trade(
                signature=f"s{n}",
                slot=ts * 10 + draw(st.integers(0, 2)),
                timestamp=ts,
                source="X",
                token_in_mint=give,
                token_out_mint=get,
                amount_in=draw(_amounts),
                amount_out=draw(_amounts),
                fee_sol=draw(st.sampled_from([D(0), D("0.000005"), D("0.01")])),
                value_usd=draw(_prices),
                sol_price_usd=draw(_prices),
            )
        )
    return trades


def _ascending(trades: list[Trade]) -> list[Trade]:
    return sorted(trades, key=lambda t: (t.timestamp, t.slot, t.signature))


_methods = st.sampled_from(list(CostBasisMethod))


@settings(max_examples=150, deadline=None)
@given(_histories(), _methods)
def test_units_bought_are_units_sold_plus_units_open(trades: list[Trade], method: CostBasisMethod) -> None:
    book, sales = _book(_ascending(trades), method)
    for position in book.positions.values():
        matched = position.sold_amount - position.unmatched_amount
        assert position.bought_amount == matched + position.open_amount
        assert all(lot.amount > 0 for lot in position.lots)
    assert sum((s.unmatched_amount for s in sales if s), D(0)) == sum(
        (p.unmatched_amount for p in book.positions.values()), D(0)
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(_amounts.filter(bool), min_size=1, max_size=6), st.data(), _methods)
def test_closed_round_trip_realizes_proceeds_minus_cost(buys: list[Decimal], data: st.DataObject, method: CostBasisMethod) -> None:
    held, trades = sum(buys, D(0)), []
    usd = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)
    sol_usd = st.decimals(min_value=1, max_value=500, places=2, allow_nan=False, allow_infinity=False)
    for n, amount in enumerate(buys):
        trades.append(
            _trade(n, SOL, str(data.draw(_amounts)), TOK, str(amount), fee="0.000005",
                   usd=str(data.draw(usd)), sol_usd=str(data.draw(sol_usd)))
        )  # fmt: skip
    cuts = sorted(data.draw(st.lists(st.integers(1, 99), max_size=4)))
    parts = [held * c / 100 for c in cuts]
    for n, (start, end) in enumerate(zip([D(0), *parts], [*parts, held], strict=True)):
        trades.append(
            _trade(100 + n, TOK, str(end - start), SOL, str(data.draw(_amounts)), fee="0.000005",
                   usd=str(data.draw(usd)), sol_usd=str(data.draw(sol_usd)))
        )  # fmt: skip
    book, _ = _book(trades, method)
    bought = [t for t in trades if t.token_out_mint == TOK]
    sold = [t for t in trades if t.token_in_mint == TOK]
    cost_sol = sum((t.amount_in + t.fee_sol for t in bought), D(0))
    proceeds_sol = sum((t.amount_out - t.fee_sol for t in sold), D(0))
    cost_usd = sum((_usd(t) + t.fee_sol * _sol_usd(t) for t in bought), D(0))
    proceeds_usd = sum((_usd(t) - t.fee_sol * _sol_usd(t) for t in sold), D(0))
    position = book.positions[TOK]
    assert position.open_amount == 0 and position.unmatched_amount == 0
    assert position.realized_pnl_sol == proceeds_sol - cost_sol
    assert position.realized_pnl_usd == proceeds_usd - cost_usd


def _usd(trade: Trade) -> Decimal:
    assert trade.value_usd is not None
    return trade.value_usd


def _sol_usd(trade: Trade) -> Decimal:
    assert trade.sol_price_usd is not None
    return trade.sol_price_usd


@settings(max_examples=100, deadline=None)
@given(_histories(), st.randoms(use_true_random=False), st.integers(1, 7), _methods)
def test_summary_ignores_order_and_batching(trades: list[Trade], rnd: random.Random, chunk: int, method: CostBasisMethod) -> None:
    whole = WalletSummary(method)
    for trade in _ascending(trades):
        whole.add(trade)
    shuffled = list(trades)
    rnd.shuffle(shuffled)
    chunked = WalletSummary(method)
    for start in range(0, len(shuffled), chunk):
        for trade in shuffled[start : start + chunk]:
            chunked.add(trade)
        chunked.to_summary()  # a look in the middle changes nothing
    assert chunked.to_summary() == whole.to_summary()


@settings(max_examples=100, deadline=None)
@given(_histories(), _methods)
def test_per_sale_pnl_sums_to_the_summary_and_the_tracker_agrees(trades: list[Trade], method: CostBasisMethod) -> None:
    summary = WalletSummary(method)
    for trade in reversed(_ascending(trades)):  # a newest-first stream
        summary.add(trade)
    result = summary.to_summary()
    tracker = PnlTracker(method)
    streamed = [tracker.apply(t) for t in _ascending(trades)]
    pnl_sol = [t.pnl_sol for t in streamed if t.pnl_sol is not None]
    pnl_usd = [t.pnl_usd for t in streamed if t.pnl_usd is not None]
    assert (len(pnl_sol), len(pnl_usd)) == (result["sales_with_pnl_sol"], result["sales_with_pnl_usd"])
    if pnl_sol:
        assert result["realized_pnl_sol"] == decimal_text(sum(pnl_sol, D(0)))
    if pnl_usd:
        assert result["realized_pnl_usd"] == decimal_text(sum(pnl_usd, D(0)))
    replayed = summary.book()
    assert tracker.book.realized_pnl_sol == replayed.realized_pnl_sol == sum(pnl_sol, D(0))
    assert tracker.book.realized_pnl_usd == replayed.realized_pnl_usd == sum(pnl_usd, D(0))
