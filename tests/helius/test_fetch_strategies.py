"""Both fetch strategies against the emulator: complete, in order, bounded, cancellable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from walletdoctor.config import HistoryVocabulary
from walletdoctor.helius.client import HeliusClient, create_client_session
from walletdoctor.helius.emulator.app import EMULATOR_BOOK
from walletdoctor.helius.emulator.settings import Endpoint
from walletdoctor.helius.errors import SearchExhausted
from walletdoctor.helius.fetch import FetchProgress, HistoryOrder, TimeWindow
from walletdoctor.helius.history import HistoryFetcher
from walletdoctor.helius.pipelined import PipelinedFetcher

from tests.conftest import Emulator


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[HeliusClient]:
    session = create_client_session(32)
    try:
        yield HeliusClient(
            session,
            api_url=emulator.url,
            rpc_url=emulator.url,
            api_key="k",
            rps=10_000,
            rpc_rps=10_000,
            attempts=8,
            backoff_initial_s=0.01,
            backoff_max_s=0.02,
        )
    finally:
        await session.close()


class Collector:
    def __init__(self) -> None:
        self.transactions: list[dict[str, Any]] = []
        self.calls = 0

    async def __call__(self, transactions: list[dict[str, Any]], progress: FetchProgress) -> None:
        self.calls += 1
        self.transactions += transactions

    @property
    def signatures(self) -> list[str]:
        return [t["signature"] for t in self.transactions]


def expected_signatures(emulator: Emulator, wallet: str) -> list[str]:
    history = emulator.app[EMULATOR_BOOK].get(wallet)
    if history is None:  # synthetic wallets are created on first use
        return []
    return [history.signature_info(i)["signature"] for i in range(len(history))]


def successful_signatures(emulator: Emulator, wallet: str) -> list[str]:
    history = emulator.app[EMULATOR_BOOK].get(wallet)
    assert history is not None
    return [info["signature"] for info in (history.signature_info(i) for i in range(len(history))) if info["err"] is None]


async def test_pipelined_delivers_every_successful_transaction_in_history_order(
    client: HeliusClient, emulator: Emulator
) -> None:
    wallet = emulator.synthetic("pipelined-order", 2500)
    sink = Collector()
    progress = await PipelinedFetcher(client, window=5).run(wallet, TimeWindow(), sink)
    assert sink.signatures == successful_signatures(emulator, wallet)
    assert progress.listing_done and progress.signatures_listed == 2500 == progress.transactions_scanned
    assert progress.pages_fetched == 3
    assert emulator.stats.endpoints[Endpoint.ENHANCED_PARSE].max_in_flight <= 6


async def test_pipelined_asks_again_for_what_a_parse_answer_left_out(client: HeliusClient, emulator: Emulator) -> None:
    wallet = emulator.synthetic("pipelined-incomplete", 1000)
    emulator.settings.update({"incomplete_ratio": 0.5})
    sink = Collector()
    progress = await PipelinedFetcher(client, refetch_rounds=10).run(wallet, TimeWindow(), sink)
    assert sink.signatures == successful_signatures(emulator, wallet)
    assert progress.transactions_missing == 0
    assert emulator.stats.endpoints[Endpoint.ENHANCED_PARSE].requests > 10


async def test_pipelined_cancellation_stops_every_request(client: HeliusClient, emulator: Emulator) -> None:
    wallet = emulator.synthetic("pipelined-cancel", 5000)
    emulator.settings.update({"enhanced_latency_s": 0.5, "latency_jitter": 0.0})
    task = asyncio.create_task(PipelinedFetcher(client, window=8).run(wallet, TimeWindow(), Collector()))
    while emulator.stats.endpoints[Endpoint.ENHANCED_PARSE].in_flight < 8:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if emulator.stats.in_flight == 0:
            break
        await asyncio.sleep(0.01)
    assert emulator.stats.in_flight == 0


async def test_sink_backpressure_bounds_the_fetch(client: HeliusClient, emulator: Emulator) -> None:
    wallet = emulator.synthetic("pipelined-backpressure", 5000)
    release = asyncio.Event()

    async def blocked_sink(transactions: list[dict[str, Any]], progress: FetchProgress) -> None:
        await release.wait()

    task = asyncio.create_task(PipelinedFetcher(client, window=3).run(wallet, TimeWindow(), blocked_sink))
    await asyncio.sleep(0.5)
    # window 3 queued + the one being handed over + the one the lister holds
    assert emulator.stats.endpoints[Endpoint.ENHANCED_PARSE].requests <= 5
    release.set()
    await task


@pytest.mark.parametrize("vocabulary", list(HistoryVocabulary))
async def test_history_delivers_the_whole_history(
    client: HeliusClient, emulator: Emulator, vocabulary: HistoryVocabulary
) -> None:
    wallet = emulator.synthetic("history-walk", 730)
    sink = Collector()
    progress = await HistoryFetcher(client, vocabulary=vocabulary).run(wallet, TimeWindow(), sink)
    assert sink.signatures == expected_signatures(emulator, wallet)
    assert progress.pages_fetched == 9  # 8 pages of 100 or fewer, then the empty answer


@pytest.mark.parametrize("as_404", [False, True])
async def test_history_continues_through_search_period_answers(
    client: HeliusClient, emulator: Emulator, as_404: bool
) -> None:
    wallet = emulator.synthetic("history-sparse", 600)
    emulator.settings.update({"search_error_as_404": as_404, "history_search_window": 5})
    sink = Collector()
    fetcher = HistoryFetcher(client, transaction_type="TRANSFER", max_continuations=1000)
    await fetcher.run(wallet, TimeWindow(), sink)
    history = emulator.app[EMULATOR_BOOK].get(wallet)
    assert history is not None
    swaps = [history.transaction(i) for i in range(len(history))]
    assert sink.signatures == [t["signature"] for t in swaps if t["type"] == "TRANSFER"]
    assert sink.signatures, "the wallet has transfers"
    assert emulator.stats.endpoints[Endpoint.ENHANCED_HISTORY].requests > sink.calls + 1, "search-period answers were met"
    if as_404:
        assert emulator.stats.endpoints[Endpoint.ENHANCED_HISTORY].by_status[404] > 0


async def test_history_continuations_are_bounded(client: HeliusClient, emulator: Emulator) -> None:
    wallet = emulator.synthetic("history-endless", 3000)
    emulator.settings.update({"history_search_window": 10})
    with pytest.raises(SearchExhausted):
        await HistoryFetcher(client, transaction_type="NFT_SALE", max_continuations=3).run(
            wallet, TimeWindow(), Collector()
        )
    assert emulator.stats.endpoints[Endpoint.ENHANCED_HISTORY].requests == 4


@pytest.mark.parametrize(
    "fetcher",
    [
        lambda client: PipelinedFetcher(client, window=4),
        lambda client: HistoryFetcher(client, vocabulary=HistoryVocabulary.SIGNATURE),
        lambda client: HistoryFetcher(client, vocabulary=HistoryVocabulary.LEGACY),
    ],
    ids=["pipelined", "history", "history-legacy"],
)
async def test_oldest_first_is_the_reverse_of_newest_first(
    client: HeliusClient, emulator: Emulator, fetcher: Any
) -> None:
    wallet = emulator.synthetic("oldest-first", 1234)
    newest, oldest = Collector(), Collector()
    await fetcher(client).run(wallet, TimeWindow(), newest)
    await fetcher(client).run(wallet, TimeWindow(), oldest, HistoryOrder.ASC)
    assert oldest.signatures == newest.signatures[::-1]
    assert len(oldest.signatures) > 1000


async def test_oldest_first_respects_the_time_window(client: HeliusClient, emulator: Emulator) -> None:
    wallet = emulator.synthetic("oldest-first-window", 800)
    everything = Collector()
    await HistoryFetcher(client).run(wallet, TimeWindow(), everything, HistoryOrder.ASC)
    times = [t["timestamp"] for t in everything.transactions]
    window = TimeWindow(since=times[200], until=times[600])
    for fetcher in (PipelinedFetcher(client), HistoryFetcher(client)):
        windowed = Collector()
        await fetcher.run(wallet, window, windowed, HistoryOrder.ASC)
        # The pipelined strategy skips failed transactions before parsing them.
        assert [t["signature"] for t in windowed.transactions if not t.get("transactionError")] == [
            t["signature"]
            for t in everything.transactions
            if window.since <= t["timestamp"] <= window.until and not t.get("transactionError")  # type: ignore[operator]
        ]


@pytest.mark.parametrize("strategy", ["pipelined", "history"])
async def test_the_sink_gets_what_read_made_of_each_transaction(
    client: HeliusClient, emulator: Emulator, strategy: str
) -> None:
    """A stream keeps its trades, not the transactions, while runs wait for the sink."""
    wallet = emulator.synthetic(f"read-{strategy}", 450)
    runs: list[list[Any]] = []
    oldest: list[int | None] = []

    async def sink(items: list[Any], progress: FetchProgress) -> None:
        runs.append(items)
        oldest.append(progress.oldest_timestamp)

    fetcher = PipelinedFetcher(client, window=3) if strategy == "pipelined" else HistoryFetcher(client)
    await fetcher.run(wallet, TimeWindow(), sink, read=lambda t: (t["signature"], t.get("timestamp")))
    items = [item for run in runs for item in run]
    expected = successful_signatures(emulator, wallet) if strategy == "pipelined" else expected_signatures(emulator, wallet)
    assert [signature for signature, _ in items] == expected
    assert len(runs) > 1
    # Progress still follows the transactions' own block times, oldest last.
    assert oldest[-1] == items[-1][1] and all(isinstance(t, int) for t in oldest)
