"""Price sources: stablecoins, Birdeye windows (sharing, tolerance, cache, failures, cancellation), chains."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from tests.conftest import Emulator
from walletdoctor.analytics.prices import UNCACHED, BirdeyePrices, PriceChain, StablecoinPrices
from walletdoctor.birdeye import BirdeyeClient, PricePoint, Unavailable
from walletdoctor.birdeye.emulator import BIRDEYE_PREFIX, birdeye_emulator_of
from walletdoctor.birdeye.prices_book import load_recorded_prices
from walletdoctor.rate import HIGH_PRIORITY, NORMAL_PRIORITY, Priority, RequestRate
from walletdoctor.solana import NATIVE_SOL_MINT, USDC_MINT, USDT_MINT

TOKEN = "Token1111111111111111111111111111111111111"
#: With 1m points a bucket is 1,000 minutes less 2 x 10 minutes of tolerance.
BUCKET_S = 58_800


class FakeHistory:
    """A Birdeye client double: a point every ``step_s`` seconds, price = time / 1000; records its calls."""

    def __init__(
        self, step_s: int = 60, *, delay_s: float = 0.0, fail: int = 0, cut: bool = False, rate: RequestRate | None = None
    ) -> None:
        self.calls: list[tuple[str, int, int, str]] = []
        self.priorities: list[int] = []
        #: Mints in the order their requests were granted by ``rate`` (when given).
        self.granted: list[str] = []
        self.rate = rate
        self.step_s = step_s
        self.delay_s = delay_s
        self.fail = fail
        self.cut = cut
        self.cancelled = 0

    async def history_price(
        self, mint: str, time_from: int, time_to: int, interval: str = "1m", *, priority: int | Priority = NORMAL_PRIORITY
    ) -> list[PricePoint]:
        self.calls.append((mint, time_from, time_to, interval))
        self.priorities.append(priority.value if isinstance(priority, Priority) else priority)
        if self.rate is not None:
            await self.rate.acquire(priority)
            self.granted.append(mint)
        try:
            await asyncio.sleep(self.delay_s)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.fail:
            self.fail -= 1
            raise Unavailable("Birdeye HTTP 503", status=503)
        first = -(-time_from // self.step_s) * self.step_s
        points = [(t, Decimal(t) / 1000) for t in range(first, time_to + 1, self.step_s)]
        return points[:1000] if self.cut else points


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_stablecoins_are_one_dollar() -> None:
    prices = StablecoinPrices()
    assert await prices.price_usd(USDC_MINT, 1) == await prices.price_usd(USDT_MINT, 2) == Decimal(1)
    assert await prices.price_usd(NATIVE_SOL_MINT, 1) is None


async def test_a_chain_answers_with_its_first_source_that_knows() -> None:
    history = FakeHistory()
    chain = PriceChain(StablecoinPrices(), BirdeyePrices(history, interval="1m"))
    assert await chain.price_usd(USDC_MINT, 600_000) == 1 and history.calls == []
    assert await chain.price_usd(TOKEN, 600_000) == Decimal(600)
    assert await PriceChain().price_usd(TOKEN, 1) is None


async def test_the_nearest_point_within_the_tolerance() -> None:
    prices = BirdeyePrices(FakeHistory(step_s=60), interval="1m", tolerance_s=600)
    assert await prices.price_usd(TOKEN, 600_029) == Decimal(600)  # 600,000 is nearer than 600,060
    assert await prices.price_usd(TOKEN, 600_031) == Decimal("600.06")
    sparse = BirdeyePrices(FakeHistory(step_s=3600), interval="1m", tolerance_s=600)
    assert await sparse.price_usd(TOKEN, 3600 * 200 + 600) == Decimal(720)
    assert await sparse.price_usd(TOKEN, 3600 * 200 + 601) is None


async def test_one_request_serves_every_ask_in_a_bucket_even_concurrent() -> None:
    history = FakeHistory(delay_s=0.05)
    prices = BirdeyePrices(history, interval="1m")
    start = BUCKET_S * 30
    asks = [prices.price_usd(TOKEN, start + k * 97) for k in range(200)]  # 19,400 s: one bucket
    answers = await asyncio.gather(*asks)
    assert all(answer is not None for answer in answers)
    ((mint, time_from, time_to, interval),) = history.calls
    # The bucket plus the tolerance each side: exactly Birdeye's 1,000 one-minute points.
    assert (mint, interval) == (TOKEN, "1m")
    assert time_from == start - 600 and time_to - time_from + 1 == 1000 * 60
    await prices.price_usd(TOKEN, start + BUCKET_S)
    await prices.price_usd("Other", start)
    assert len(history.calls) == 3


async def test_by_default_a_window_is_1000_five_minute_points() -> None:
    history = FakeHistory(step_s=300)
    prices = BirdeyePrices(history)
    start = 298_800 * 20 + 1000  # 1,000 x 300 s less 2 x 600 s of tolerance per bucket
    assert await prices.price_usd(TOKEN, start) == Decimal("5976.9")
    assert await prices.price_usd(TOKEN, start + 86_400) is not None  # a day later: the same window
    ((_, time_from, time_to, interval),) = history.calls
    assert interval == "5m" and time_to - time_from + 1 == 1000 * 300


async def test_answers_cut_at_1000_items_are_followed_up() -> None:
    history = FakeHistory(step_s=30, cut=True)  # twice as dense as the window's intervals
    prices = BirdeyePrices(history, interval="1m")
    end = BUCKET_S * 31 - 1
    assert await prices.price_usd(TOKEN, end) == Decimal(end + 1) / 1000  # a point of the second page
    assert len(history.calls) == 2 and history.calls[1][1] == history.calls[0][1] + 999 * 30 + 1


async def test_a_failure_is_none_with_one_warning_and_pauses_new_fetches(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    history = FakeHistory()
    prices = BirdeyePrices(history, interval="1m", failure_ttl_s=30, ttl_s=600, clock=clock)
    assert await prices.price_usd(TOKEN, 600_000) == Decimal(600)
    history.fail = 1
    with caplog.at_level(logging.WARNING, logger="walletdoctor.analytics.prices"):
        assert await prices.price_usd(TOKEN, 9_000_000) is None
        assert await prices.price_usd(TOKEN, 9_000_100) is None
        assert await prices.price_usd("Other", 600_000) is None  # another window: paused too
    assert await prices.price_usd(TOKEN, 600_060) == Decimal("600.06")  # cached windows still answer
    assert len(history.calls) == 2 and len(caplog.records) == 1
    assert "Unavailable" in caplog.records[0].getMessage()
    clock.now = 31
    assert await prices.price_usd(TOKEN, 9_000_000) == Decimal(9000)
    assert len(history.calls) == 3


async def test_windows_expire_and_the_least_recently_used_go_first() -> None:
    clock = Clock()
    history = FakeHistory()
    prices = BirdeyePrices(history, interval="1m", cache_windows=2, ttl_s=600, clock=clock)
    for bucket in (10, 11, 10, 12, 10):  # 11 is evicted when 12 comes in; 10 stays in use
        await prices.price_usd(TOKEN, BUCKET_S * bucket + 1000)
    assert len(history.calls) == 3
    await prices.price_usd(TOKEN, BUCKET_S * 11 + 1000)
    assert len(history.calls) == 4
    clock.now = 601
    await prices.price_usd(TOKEN, BUCKET_S * 11 + 1000)
    assert len(history.calls) == 5


async def test_a_slow_birdeye_gives_none_after_the_fetch_timeout() -> None:
    prices = BirdeyePrices(FakeHistory(delay_s=5), interval="1m", fetch_timeout_s=0.05)
    assert await prices.price_usd(TOKEN, 600_000) is None


async def test_the_fetch_is_cancelled_with_its_last_waiter_only() -> None:
    history = FakeHistory(delay_s=0.2)
    prices = BirdeyePrices(history, interval="1m")
    first = asyncio.create_task(prices.price_usd(TOKEN, 600_000))
    second = asyncio.create_task(prices.price_usd(TOKEN, 600_060))
    await asyncio.sleep(0.05)
    first.cancel()
    assert await second == Decimal("600.06") and history.cancelled == 0
    lonely = asyncio.create_task(prices.price_usd(TOKEN, BUCKET_S * 50))
    await asyncio.sleep(0.05)
    lonely.cancel()
    with pytest.raises(asyncio.CancelledError):
        await lonely
    await asyncio.sleep(0)
    assert history.cancelled == 1
    history.delay_s = 0
    assert await prices.price_usd(TOKEN, BUCKET_S * 50) is not None  # asked again, not a dead window


async def test_times_out_of_birdeyes_range_are_not_asked() -> None:
    history = FakeHistory()
    prices = BirdeyePrices(history, interval="1m")
    assert await prices.price_usd(TOKEN, -1) is None and await prices.price_usd(TOKEN, 10**10 + 1) is None
    assert history.calls == []


def test_settings_that_cannot_work_are_refused() -> None:
    history = FakeHistory()
    with pytest.raises(ValueError):
        BirdeyePrices(history, interval="2m")
    with pytest.raises(ValueError):
        BirdeyePrices(history, window_points=1001)
    with pytest.raises(ValueError):
        BirdeyePrices(history, interval="1m", window_points=10, tolerance_s=300)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as made:
        yield made


async def test_over_the_emulator_a_trade_time_gets_its_recorded_price(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    birdeye_emulator_of(emulator.app).latency_s = 0
    client = BirdeyeClient(session, base_url=emulator.url + BIRDEYE_PREFIX, api_key="k", rps=1000)
    prices = BirdeyePrices(client)
    points = load_recorded_prices().recorded_points(NATIVE_SOL_MINT)
    # A trade that is the first of its 5-minute interval followed by another in
    # the same interval: Birdeye (and so the emulator) has one point for both.
    index = next(
        k for k in range(1234, len(points) - 1)
        if points[k - 1][0] // 300 != points[k][0] // 300 == points[k + 1][0] // 300
    )
    (first, first_usd), (second, _) = points[index], points[index + 1]
    assert await prices.price_usd(NATIVE_SOL_MINT, first) == Decimal(str(float(first_usd)))
    assert await prices.price_usd(NATIVE_SOL_MINT, second) == Decimal(str(float(first_usd)))


async def test_closing_cancels_prefetches_in_flight() -> None:
    """Regression: a prefetch left in flight when the app stopped used the closed HTTP session."""
    history = FakeHistory(delay_s=60)
    chain = PriceChain(StablecoinPrices(), BirdeyePrices(history))
    chain.prefetch(NATIVE_SOL_MINT, [1_750_000_000, 1_760_000_000])
    await asyncio.sleep(0.01)
    assert len(history.calls) == 2
    await asyncio.wait_for(chain.aclose(), 1.0)
    assert history.cancelled == 2


async def test_an_ask_raises_the_prefetch_it_joins_ahead_of_the_other_prefetches() -> None:
    """Measured before: a stream's late run waited 0.35 s for a SOL window queued
    behind the other prefetches (the real wallet's whole run 2.6 -> 3.0 s)."""
    rate = RequestRate(1, 0.2, margin_s=0.0)
    history = FakeHistory(rate=rate)
    prices = BirdeyePrices(history)
    day = 86_400
    # Each prefetched window of SOL's takes the whole window of the rate limit.
    prices.prefetch(NATIVE_SOL_MINT, [1_700_000_000 + n * 5 * day for n in range(4)])
    await asyncio.sleep(0.01)
    assert history.granted == [NATIVE_SOL_MINT]
    ask = asyncio.create_task(prices.price_usd(NATIVE_SOL_MINT, 1_700_000_000 + 15 * day))
    await ask
    assert len(history.granted) == 2, "the ask's window went next, not after the two prefetches before it"
    assert len(history.calls) == 4, "it shared the prefetch's request"
    await prices.aclose()


async def test_asks_go_first_and_prefetches_after_them() -> None:
    """An ask is a price a stream waits for now; a prefetch a guess at what it asks next."""
    history = FakeHistory()
    prices = BirdeyePrices(history)
    prices.prefetch(NATIVE_SOL_MINT, [1_750_000_000])
    assert await prices.price_usd(USDC_MINT, 1_760_000_000) is not None
    await prices.aclose()
    assert [call[0] for call in history.calls] == [NATIVE_SOL_MINT, USDC_MINT]
    assert history.priorities == [NORMAL_PRIORITY, HIGH_PRIORITY]


async def test_a_held_window_answers_without_awaiting_and_a_missing_one_is_uncached() -> None:
    clock = Clock()
    history = FakeHistory(delay_s=0.05)
    prices = BirdeyePrices(history, interval="1m", failure_ttl_s=30, ttl_s=600, clock=clock)
    assert prices.cached_price_usd(TOKEN, 600_000) is UNCACHED
    prices.prefetch(TOKEN, [600_000])
    assert prices.cached_price_usd(TOKEN, 600_000) is UNCACHED, "still coming"
    assert await prices.price_usd(TOKEN, 600_000) == Decimal(600)
    calls = len(history.calls)
    assert prices.cached_price_usd(TOKEN, 600_060) == await prices.price_usd(TOKEN, 600_060) == Decimal("600.06")
    assert prices.cached_price_usd(TOKEN, 600_000 + 3 * BUCKET_S) is UNCACHED
    assert prices.cached_price_usd(TOKEN, -1) is None
    assert len(history.calls) == calls, "a cached answer asks no one"
    history.fail = 1
    assert await prices.price_usd("Other", 600_000) is None
    assert prices.cached_price_usd("Third", 600_000) is None, "paused after a failure, as price_usd answers"
    clock.now = 601
    assert prices.cached_price_usd(TOKEN, 600_000) is UNCACHED, "expired"
    await prices.aclose()


async def test_a_chain_answers_from_what_its_sources_hold() -> None:
    history = FakeHistory()
    birdeye = BirdeyePrices(history, interval="1m")
    chain = PriceChain(StablecoinPrices(), birdeye)
    assert chain.cached_price_usd(USDT_MINT, 600_000) == Decimal(1)
    assert chain.cached_price_usd(TOKEN, 600_000) is UNCACHED
    await chain.price_usd(TOKEN, 600_000)
    assert chain.cached_price_usd(TOKEN, 600_000) == Decimal(600)
    assert PriceChain(StablecoinPrices(), FakeSource()).cached_price_usd(TOKEN, 600_000) is UNCACHED
    assert PriceChain(StablecoinPrices(), FakeSource()).cached_price_usd(USDC_MINT, 600_000) == Decimal(1)
    await chain.aclose()


class FakeSource:
    """A source that can only be awaited."""

    async def price_usd(self, mint: str, unix_ts: int) -> Decimal | None:
        return Decimal(7)


async def test_a_high_priority_prefetch_takes_the_asks_places_and_raises_one_coming() -> None:
    """A stream's token-to-token trade is asked for as its run is parsed, before its turn:
    it goes as the ask would, ahead of the SOL prefetches."""
    history = FakeHistory()
    prices = BirdeyePrices(history)
    prices.prefetch(NATIVE_SOL_MINT, [1_750_000_000])
    prices.prefetch(TOKEN, [1_760_000_000], priority=HIGH_PRIORITY)
    prices.prefetch(NATIVE_SOL_MINT, [1_770_000_000])
    prices.prefetch(NATIVE_SOL_MINT, [1_770_000_000], priority=HIGH_PRIORITY)  # the same window, raised
    await asyncio.sleep(0.01)
    assert history.priorities == [NORMAL_PRIORITY, HIGH_PRIORITY, HIGH_PRIORITY]
    await prices.aclose()
