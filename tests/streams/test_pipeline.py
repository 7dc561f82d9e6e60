"""A feed's producer: when its symbol look-ups leave, against the emulator's DAS over loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

from tests.conftest import Emulator
from walletdoctor.analytics.extraction import extract_trade
from walletdoctor.analytics.summary import WalletSummary
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
        self._transactions = [history.transaction(i) for i in range(transactions)]
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
        progress = FetchProgress(listing_done=True, signatures_listed=len(self._transactions))
        for start in range(0, len(self._transactions), self._run_size):
            if start:
                await asyncio.sleep(self._pause_s)
            run = self._transactions[start : start + self._run_size]
            progress.transactions_scanned += len(run)
            await sink([t if read is None else read(t) for t in run], progress)
        return progress

    def new_mints_per_run(self) -> list[int]:
        """How many mints each run's trades bring that no run before it traded."""
        seen: set[str] = set()
        counts = []
        for start in range(0, len(self._transactions), self._run_size):
            trades = [extract_trade(t, WALLET) for t in self._transactions[start : start + self._run_size]]
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
    fetcher: RunsFetcher, tokens: TokenDirectory, batch_size: int, on_first_trades: Callable[[], None] = lambda: None
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
    await TradePipeline(feed, fetcher, tokens).run()
    return appended


async def test_the_first_batch_names_its_tokens_with_one_request_when_it_fills(
    emulator: Emulator, tokens: TokenDirectory
) -> None:
    """Measured before: one DAS request per run of the first batch (four for the real
    wallet), each a place of the Enhanced API's window that its parse requests needed."""
    # The newest 100 trades of the real wallet span about 500 transactions: ten runs of 50.
    fetcher = RunsFetcher(transactions=600, run_size=50, pause_s=0.01)
    requests_at_first_trades: list[int] = []
    events = await produce(fetcher, tokens, 100, lambda: requests_at_first_trades.append(das(emulator).requests))
    first = next(data for name, data in events if name is EventName.TRADES)
    assert len(first["trades"]) == 100
    # The first run's look-up left at once; every other run before the fill
    # queued behind it and went with the run that filled the batch.
    assert requests_at_first_trades[0] <= 2
    named = [t for t in first["trades"] if t["token_in"] != t["token_in_mint"] and t["token_out"] != t["token_out_mint"]]
    assert len(named) > 90, "the first batch carries its symbols"


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
