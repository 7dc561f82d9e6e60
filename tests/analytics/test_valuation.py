"""Valuing trades: which leg gives the value, SOL's price on every trade, fallbacks, one round trip."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from walletdoctor.analytics.prices import UNCACHED, BirdeyePrices, PriceChain, StablecoinPrices, Uncached
from walletdoctor.analytics.trade import Trade
from walletdoctor.analytics.valuation import token_prices_asked, value_cached, value_trades
from walletdoctor.birdeye.client import INTERVAL_SECONDS, PricePoint
from walletdoctor.rate import NORMAL_PRIORITY
from walletdoctor.solana import NATIVE_SOL_MINT, USDC_MINT, USDT_MINT

MEME = "MemeMint111111111111111111111111111111111111"
OTHER = "OtherMint11111111111111111111111111111111111"
SOL_USD = Decimal("150.25")


class FakePrices:
    """Prices by mint (same at any time), a delay per look-up, and a record of the look-ups."""

    def __init__(self, prices: dict[str, Decimal], delay_s: float = 0.0) -> None:
        self.prices = prices
        self.delay_s = delay_s
        self.asked: list[tuple[str, int]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def price_usd(self, mint: str, unix_ts: int) -> Decimal | None:
        self.asked.append((mint, unix_ts))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight -= 1
        return self.prices.get(mint)


def trade(mint_in: str, amount_in: str, mint_out: str, amount_out: str, timestamp: int = 1_750_000_000) -> Trade:
    return Trade(
        signature=f"sig-{mint_in[:4]}-{mint_out[:4]}-{timestamp}",
        slot=1,
        timestamp=timestamp,
        source="RAYDIUM",
        token_in_mint=mint_in,
        token_out_mint=mint_out,
        amount_in=Decimal(amount_in),
        amount_out=Decimal(amount_out),
        fee_sol=Decimal("0.000005"),
    )


async def test_a_sol_leg_is_valued_at_sols_price() -> None:
    prices = FakePrices({NATIVE_SOL_MINT: SOL_USD, MEME: Decimal(99)})
    buy, sell = await value_trades(
        [trade(NATIVE_SOL_MINT, "1.98", MEME, "1986656.5"), trade(MEME, "10", NATIVE_SOL_MINT, "0.077849895")], prices
    )
    assert buy.value_usd == Decimal("1.98") * SOL_USD and buy.sol_price_usd == SOL_USD
    # The token is priced through SOL at the trade's own rate, never on its own.
    assert sell.value_usd == Decimal("0.077849895") * SOL_USD
    assert {mint for mint, _ in prices.asked} == {NATIVE_SOL_MINT}


async def test_a_stablecoin_leg_is_its_own_value() -> None:
    prices = FakePrices({NATIVE_SOL_MINT: SOL_USD})
    valued = await value_trades(
        [
            trade(USDC_MINT, "11.493485", MEME, "5"),
            trade(NATIVE_SOL_MINT, "2", USDT_MINT, "300.5"),
            trade(USDC_MINT, "7", USDT_MINT, "6.99"),
        ],
        prices,
    )
    assert [t.value_usd for t in valued] == [Decimal("11.493485"), Decimal("300.5"), Decimal(7)]
    assert all(t.sol_price_usd == SOL_USD for t in valued)


async def test_token_to_token_uses_token_in_then_token_out() -> None:
    known_in = FakePrices({NATIVE_SOL_MINT: SOL_USD, MEME: Decimal("0.5"), OTHER: Decimal(3)})
    (valued,) = await value_trades([trade(MEME, "10", OTHER, "2")], known_in)
    assert valued.value_usd == Decimal(5)
    known_out = FakePrices({NATIVE_SOL_MINT: SOL_USD, OTHER: Decimal(3)})
    (valued,) = await value_trades([trade(MEME, "10", OTHER, "2")], known_out)
    assert valued.value_usd == Decimal(6)


async def test_without_sols_price_the_token_leg_is_tried() -> None:
    prices = FakePrices({MEME: Decimal("0.001")})
    (valued,) = await value_trades([trade(NATIVE_SOL_MINT, "1", MEME, "200000")], prices)
    assert valued.value_usd == Decimal(200) and valued.sol_price_usd is None


async def test_nothing_known_leaves_the_trade_unpriced() -> None:
    (valued,) = await value_trades([trade(MEME, "1", OTHER, "2")], FakePrices({}))
    assert valued.value_usd is None and valued.sol_price_usd is None


async def test_a_batch_costs_one_round_trip_and_each_look_up_once() -> None:
    prices = FakePrices({NATIVE_SOL_MINT: SOL_USD, MEME: Decimal(1), OTHER: Decimal(2)}, delay_s=0.1)
    trades = [trade(NATIVE_SOL_MINT, "1", MEME, "5", timestamp=1_750_000_000 + k % 40) for k in range(100)]
    trades += [trade(MEME, "1", OTHER, "2", timestamp=1_750_000_000 + k) for k in range(20)]
    valued = await value_trades(trades, prices)
    assert len(prices.asked) == len(set(prices.asked)) == 40 + 20 * 2
    # Every look-up was in flight at once: one round trip, not one per trade.
    # (A wall-clock bound here failed on a busy CI machine: 0.33 s for 0.1 s.)
    assert prices.most_in_flight == len(prices.asked)
    assert all(t.value_usd is not None for t in valued)


async def test_order_is_kept_and_the_input_is_untouched() -> None:
    trades = [trade(NATIVE_SOL_MINT, str(k + 1), MEME, "1", timestamp=1_750_000_000 + k) for k in range(5)]
    valued = await value_trades(trades, FakePrices({NATIVE_SOL_MINT: Decimal(2)}))
    assert [t.signature for t in valued] == [t.signature for t in trades]
    assert [t.value_usd for t in valued] == [Decimal(2 * (k + 1)) for k in range(5)]
    assert all(t.value_usd is None for t in trades)
    assert await value_trades([], FakePrices({})) == []


class SteppedHistory:
    """A Birdeye double: a point every minute whose USD value is the time / 1,000 (so every time prices differently)."""

    async def history_price(
        self, mint: str, time_from: int, time_to: int, interval: str = "1m", *, priority: int = NORMAL_PRIORITY
    ) -> list[PricePoint]:
        step = INTERVAL_SECONDS[interval]
        first = -(-time_from // step) * step
        return [(t, Decimal(t) / 1000) for t in range(first, time_to + 1, step)][:1000]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40 * 86_400), st.booleans()), min_size=1, max_size=50),
    st.integers(1, 12),
)
def test_values_do_not_depend_on_how_trades_are_batched(moments: list[tuple[int, bool]], chunk: int) -> None:
    """A trade's value is the same whichever other trades were valued with it (a batch-wide
    price-fetch plan that picked coarser points for spread-out batches broke this)."""
    start = 1_750_000_000
    trades = [
        trade(MEME, "3", OTHER, "2", start + offset) if swap else trade(NATIVE_SOL_MINT, "1.5", MEME, "9", start + offset)
        for offset, swap in moments
    ]

    async def value(size: int) -> list[Decimal | None]:
        prices = PriceChain(StablecoinPrices(), BirdeyePrices(SteppedHistory()))
        valued: list[Trade] = []
        for begin in range(0, len(trades), size):
            valued += await value_trades(trades[begin : begin + size], prices)
        return [t.value_usd for t in valued]

    whole, batched = asyncio.run(value(len(trades))), asyncio.run(value(chunk))
    assert whole == batched and None not in whole


class HeldPrices(FakePrices):
    """:class:`FakePrices` that also answers from what it holds: the mints in ``held``."""

    def __init__(self, prices: dict[str, Decimal], held: set[str]) -> None:
        super().__init__(prices)
        self.held = held

    def cached_price_usd(self, mint: str, unix_ts: int) -> Decimal | None | Uncached:
        return self.prices.get(mint) if mint in self.held else UNCACHED


async def test_a_batch_whose_prices_are_held_is_valued_without_awaiting_as_when_asked() -> None:
    prices = {NATIVE_SOL_MINT: SOL_USD, MEME: Decimal("0.5"), OTHER: Decimal(3)}
    trades = [
        trade(NATIVE_SOL_MINT, "1.98", MEME, "1986656.5"),
        trade(MEME, "10", OTHER, "2"),
        trade(USDC_MINT, "7", MEME, "3"),
    ]
    held = HeldPrices(prices, set(prices))
    assert value_cached(trades, held) == await value_trades(trades, FakePrices(prices))
    assert held.asked == [], "nothing was awaited"
    # One price it would need is not held: the batch is left to value_trades.
    assert value_cached(trades, HeldPrices(prices, {NATIVE_SOL_MINT, MEME})) is None
    # A held "no price" is an answer: the token-to-token trade falls back on its other leg.
    fallback = HeldPrices({NATIVE_SOL_MINT: SOL_USD, OTHER: Decimal(3)}, {NATIVE_SOL_MINT, MEME, OTHER})
    assert [t.value_usd for t in value_cached(trades[1:2], fallback) or []] == [Decimal(6)]
    # A source that can only be awaited has nothing to answer from.
    assert value_cached(trades, FakePrices(prices)) is None


def test_the_token_prices_asked_are_those_of_trades_without_a_quote_leg() -> None:
    assert token_prices_asked(trade(MEME, "10", OTHER, "2", timestamp=5)) == [(MEME, 5), (OTHER, 5)]
    assert token_prices_asked(trade(NATIVE_SOL_MINT, "1", MEME, "2")) == []
    assert token_prices_asked(trade(MEME, "1", USDT_MINT, "2")) == []
