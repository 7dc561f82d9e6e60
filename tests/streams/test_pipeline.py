"""A feed's producer: when its symbol look-ups leave, against the emulator's DAS over loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from decimal import Decimal
from typing import Any

import orjson
import pytest

from tests.conftest import Emulator
from walletdoctor.analytics.extraction import extract_trade
from walletdoctor.analytics.prices import UNCACHED, PriceSource, Uncached
from walletdoctor.analytics.summary import WalletSummary
from walletdoctor.analytics.valuation import token_prices_asked
from walletdoctor.helius import create_client_session
from walletdoctor.helius.assets import TokenDirectory
from walletdoctor.helius.client import HeliusClient
from walletdoctor.helius.emulator.recorded import load_recorded_wallet
from walletdoctor.helius.emulator.settings import Endpoint
from walletdoctor.helius.fetch import (
    FetchProgress,
    HistoryOrder,
    ListingHook,
    Sink,
    TimeWindow,
    TransactionReader,
)
from walletdoctor.rate import HIGH_PRIORITY, NORMAL_PRIORITY
from walletdoctor.solana import NATIVE_SOL_MINT
from walletdoctor.sse.event import EventName
from walletdoctor.streams.feed import Feed
from walletdoctor.streams.params import StreamParams
from walletdoctor.streams.pipeline import TradePipeline

WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"
#: Long beside the runs' pace (all of them come within 0.2 s), so that which
#: look-up is in flight when a run comes does not depend on the machine's load.
DAS_LATENCY_S = 1.0


class RunsFetcher:
    """Hands the real wallet's newest transactions to the sink in runs, ``pause_s`` apart;
    returns as soon as the last run is taken."""

    def __init__(self, transactions: int, run_size: int, pause_s: float) -> None:
        history = load_recorded_wallet()
        self.transactions = [history.transaction(i) for i in range(transactions)]
        self._run_size = run_size
        self._pause_s = pause_s

    async def run(
        self,
        address: str,
        window: TimeWindow,
        sink: Sink,
        order: HistoryOrder = HistoryOrder.DESC,
        on_listed: ListingHook | None = None,
        read: TransactionReader | None = None,
    ) -> FetchProgress:
        progress = FetchProgress(listing_done=True, signatures_listed=len(self.transactions))
        for start in range(0, len(self.transactions), self._run_size):
            if start:
                await asyncio.sleep(self._pause_s)
            run = self.transactions[start : start + self._run_size]
            progress.transactions_scanned += len(run)
            await sink([t if read is None else read(t) for t in run], progress)
        return progress

    def new_mints_per_run(self) -> list[int]:
        """How many mints each run's trades bring that no run before it traded."""
        seen: set[str] = set()
        counts = []
        for start in range(0, len(self.transactions), self._run_size):
            trades = [extract_trade(t, WALLET) for t in self.transactions[start : start + self._run_size]]
            mints = {m for t in trades if t is not None for m in (t.token_in_mint, t.token_out_mint)}
            counts.append(len(mints - seen))
            seen |= mints
        return counts


@pytest.fixture
async def tokens(emulator: Emulator) -> AsyncIterator[TokenDirectory]:
    emulator.settings.update({"das_latency_s": DAS_LATENCY_S, "latency_jitter": 0.0})
    session = create_client_session(16)
    client = HeliusClient(
        session, api_url=emulator.url, rpc_url=emulator.url, api_key="k", rps=1000, rpc_rps=1000, attempts=1
    )
    directory = TokenDirectory(client)
    try:
        yield directory
    finally:
        await directory.aclose()
        await session.close()


def das(emulator: Emulator) -> Any:
    return emulator.stats.endpoints[Endpoint.RPC_ASSETS]


async def produce(
    fetcher: RunsFetcher,
    tokens: TokenDirectory,
    batch_size: int,
    on_first_trades: Callable[[], None] = lambda: None,
    prices: PriceSource | None = None,
) -> list[tuple[EventName, Any]]:
    """Run a pipeline to its end; the events it appended, data as sent. ``on_first_trades``
    is called as the first ``trades`` event is appended."""
    feed = Feed("feed", StreamParams(WALLET, batch_size=batch_size), budget_bytes=64 << 20, lookahead=1_000)
    appended: list[tuple[EventName, Any]] = []
    append = feed.append

    async def record(name: EventName, data: Any, **kwargs: Any) -> Any:
        if name is EventName.TRADES and all(n is not EventName.TRADES for n, _ in appended):
            on_first_trades()
        appended.append((name, orjson.loads(orjson.dumps(data))))
        return await append(name, data, **kwargs)

    feed.append = record  # type: ignore[method-assign]
    await TradePipeline(feed, fetcher, tokens, prices).run()
    return appended


async def test_the_first_batch_waits_for_no_symbol_look_up_and_the_next_batches_are_named(
    emulator: Emulator, tokens: TokenDirectory
) -> None:
    """The first batch goes once its trades are priced, naming what the process
    knows (nothing, here: a cold directory) and giving the other tokens by mint; the
    runs' look-ups go in one request when the batch fills, and every later batch and
    the summary wait for their names. Measured before: the real wallet's first
    trades waited 150 ms (one DAS round trip) after their last parse answer."""
    # The newest 100 trades of the real wallet span about 500 transactions: ten runs of 50.
    fetcher = RunsFetcher(transactions=600, run_size=50, pause_s=0.01)
    at_first_trades: list[tuple[int, int]] = []
    events = await produce(
        fetcher, tokens, 100, lambda: at_first_trades.append((das(emulator).requests, das(emulator).in_flight))
    )
    batches = [data for name, data in events if name is EventName.TRADES]
    assert len(batches[0]["trades"]) == 100
    # The first run's look-up left at once; every other run before the fill
    # queued behind it and went with the run that filled the batch.
    requests, in_flight = at_first_trades[0]
    assert requests <= 2
    assert in_flight >= 1, "the first batch was sent while its look-ups were in flight"

    def named(batch: dict[str, Any]) -> int:
        return sum(t["token_in"] != t["token_in_mint"] and t["token_out"] != t["token_out_mint"] for t in batch["trades"])

    assert named(batches[0]) < 10, "the first batch names only what was known before"
    assert all(t["token_in"] == t["token_in_mint"] or t["token_in"] == "SOL" for t in batches[0]["trades"])
    assert len(batches) > 1 and all(named(b) > 0.9 * len(b["trades"]) for b in batches[1:]), "later batches carry their symbols"
    summary = events[-1][1]["summary"]
    assert [name for name, _ in events][-1] is EventName.COMPLETE
    assert sum(token["symbol"] is not None for token in summary["tokens"]) > 0.9 * len(summary["tokens"])


async def test_the_last_runs_symbols_leave_without_waiting_for_the_look_up_in_flight(
    emulator: Emulator, tokens: TokenDirectory
) -> None:
    """Once the history is fetched, nothing comes after its last runs to wait for:
    their symbols go at once, beside the look-up in flight, not after it."""
    # No run fills a batch of 1,000, so no look-up is urgent: the first run's
    # look-up leaves at once, and the later runs' new mints queue behind it
    # until the history is fetched (0.2 s), long before it answers (1 s).
    fetcher = RunsFetcher(transactions=400, run_size=40, pause_s=0.02)
    assert sum(fetcher.new_mints_per_run()[1:]) > 0
    events = await produce(fetcher, tokens, batch_size=1000)
    assert [name for name, _ in events][-1] is EventName.COMPLETE
    assert das(emulator).max_in_flight == 2, "the last runs' look-up went beside the one in flight"


async def test_the_summary_is_booked_while_the_last_runs_symbols_are_looked_up(
    emulator: Emulator, tokens: TokenDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Booking needs the trades' prices, not their symbols: it runs beside the last
    look-up (measured before: the real wallet's ``complete`` came 0.1 s after its last
    ``trades``, booked only then)."""
    book = WalletSummary.book
    in_flight_at_booking: list[int] = []

    def booking(summary: WalletSummary) -> Any:
        in_flight_at_booking.append(das(emulator).in_flight)
        return book(summary)

    monkeypatch.setattr(WalletSummary, "book", booking)
    fetcher = RunsFetcher(transactions=400, run_size=40, pause_s=0.02)
    events = await produce(fetcher, tokens, batch_size=1000)
    assert [name for name, _ in events][-1] is EventName.COMPLETE
    assert events[-1][1]["summary"]["trades_found"] == events[-1][1]["trades_found"]
    assert in_flight_at_booking and in_flight_at_booking[0] > 0, "booked while a look-up was in flight"


class RecordingPrices:
    """A price source that holds SOL's prices (1 USD less a millionth per second) and
    fetches every other in ``delay_s``; records its prefetches and asks."""

    def __init__(self, delay_s: float = 0.05) -> None:
        self.delay_s = delay_s
        self.prefetched: list[tuple[str, int, int]] = []
        self.asked: list[tuple[str, int]] = []

    def price(self, mint: str, unix_ts: int) -> Decimal:
        return Decimal(1) - Decimal(unix_ts % 1_000_000) / 1_000_000 if mint == NATIVE_SOL_MINT else Decimal(2)

    def cached_price_usd(self, mint: str, unix_ts: int) -> Decimal | None | Uncached:
        return self.price(mint, unix_ts) if mint == NATIVE_SOL_MINT else UNCACHED

    async def price_usd(self, mint: str, unix_ts: int) -> Decimal | None:
        self.asked.append((mint, unix_ts))
        if mint != NATIVE_SOL_MINT:
            await asyncio.sleep(self.delay_s)
        return self.price(mint, unix_ts)

    def prefetch(self, mint: str, times: Iterable[int], *, priority: int = NORMAL_PRIORITY) -> None:
        self.prefetched.extend((mint, when, priority) for when in times)

    async def aclose(self) -> None:
        pass


async def test_held_prices_value_a_run_at_once_and_token_prices_are_asked_as_it_is_parsed(
    emulator: Emulator, tokens: TokenDirectory
) -> None:
    """SOL's prices are prefetched from the signature pages: a run valued through SOL
    alone is priced in the step that extracts it (measured before: the real wallet's
    first batch waited about 0.1 s of loop turns, a task per look-up, while other
    runs' answers were decoded). A token-to-token trade's prices are asked for as
    its transaction is parsed, before its run's turn, as an ask would be."""
    fetcher = RunsFetcher(transactions=600, run_size=50, pause_s=0.0)
    prices = RecordingPrices()
    events = await produce(fetcher, tokens, 100, prices=prices)
    trades = [t for name, data in events if name is EventName.TRADES for t in data["trades"]]
    assert len(trades) > 100 and all(t["value_usd"] is not None for t in trades)
    runs = [
        [trade for t in fetcher.transactions[start : start + 50] if (trade := extract_trade(t, WALLET)) is not None]
        for start in range(0, 600, 50)
    ]
    asked_ahead = {(m, w, HIGH_PRIORITY) for run in runs for trade in run for m, w in token_prices_asked(trade)}
    assert asked_ahead, "the real wallet's newest trades hold token-to-token ones"
    assert asked_ahead <= set(prices.prefetched)
    # Only the runs with a token-to-token trade were valued by asking; the others from what is held.
    awaited = {trade.timestamp for run in runs if any(token_prices_asked(t) for t in run) for trade in run}
    sol_asks = [when for mint, when in prices.asked if mint == NATIVE_SOL_MINT]
    assert sol_asks and set(sol_asks) <= awaited
    assert len(awaited) < len({trade.timestamp for run in runs for trade in run}) / 2
