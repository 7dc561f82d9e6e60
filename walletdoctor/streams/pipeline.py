"""The producer side of a stream: fetch, extract trades, name tokens, batch, publish events.

Runs as the producer task of one feed (the streams of one request share
it, see :mod:`walletdoctor.streams.hub`). Every event it appends waits
while the feed's fastest reader is ``lookahead`` events behind, and the
fetcher waits for this pipeline, so readers that stop reading stop the
fetch. Cancelling the task (the last client gone, shutdown) cancels the
fetch and every upstream request under it.

A feed that stopped before its end (no reader left, or its process died)
is continued by a new pipeline: it fetches the history again (from the
upstream cache, so the upstream only sees what was not fetched before),
rebuilds its totals, and appends nothing until it is past the feed's
checkpoint, so no trade is sent twice. Newest first, transactions newer
than the feed's first one are left out, so the batches line up.

Event order: ``progress`` after each fetched run of transactions, a
``trades`` event each time ``batch_size`` trades are ready (the last one
may be short), then ``complete`` -- or ``error`` on failure.

Token symbols (DAS ``getAssetBatch``) and USD prices are looked up as soon
as a run of transactions is extracted, while the fetch goes on; runs wait
in a short ordered stage until their look-ups are done and are published
at that moment, so look-ups cost one round trip at the start of a stream
instead of one per batch. A run counts in the summary once it is priced,
so the summary is booked beside the last runs' symbol look-ups.

The first batch waits for its prices but for no symbol: it names the tokens
the process already knows and gives the others by mint (DESIGN section 1:
"symbols where known, else mints"). Its look-up is one DAS round trip
(150 ms at the emulator's default) after the last of the parse answers the
batch needs, which is what kept the real wallet's first trades over a
second on a cold process (1.07 s, bench/README.md); users see the newest
trades at once, every later batch waits for its names, and the summary
names every token.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Coroutine
from typing import Any, NamedTuple, TypeVar

from walletdoctor.analytics.extraction import extract_trade
from walletdoctor.analytics.pnl import PnlTracker, PositionBook
from walletdoctor.analytics.prices import PrefetchingSource, PriceSource
from walletdoctor.analytics.summary import WalletSummary
from walletdoctor.analytics.trade import Trade
from walletdoctor.analytics.valuation import (
    token_prices_asked,
    value_cached,
    value_trades,
)
from walletdoctor.errors import ErrorCode, StreamFailure, WalletDoctorError
from walletdoctor.helius.assets import TokenDirectory
from walletdoctor.helius.errors import HeliusError
from walletdoctor.helius.fetch import FetchProgress, HistoryOrder, TransactionFetcher
from walletdoctor.rate import HIGH_PRIORITY
from walletdoctor.solana import NATIVE_SOL_MINT
from walletdoctor.sse.event import EventName
from walletdoctor.streams.feed import FIRST_FEED_SEQ, Checkpoint, Feed, FeedLost

__all__ = ["NAMING_LOOKAHEAD", "TradePipeline"]

log = logging.getLogger(__name__)

#: Runs of transactions whose look-ups may be in flight at once: as many as
#: the parse window, so that a look-up round trip never holds up the fetch.
NAMING_LOOKAHEAD = 64

_Symbols = dict[str, str | None]
_T = TypeVar("_T")


class _Read(NamedTuple):
    """What a stream keeps of a transaction from the moment it is parsed: its
    slot (to line a continued feed up) and the wallet's trade in it, if any."""

    slot: int | None
    trade: Trade | None


class TradePipeline:
    """Turns one wallet's history into a feed's events.

    Args:
        feed: the feed it appends to (continued after its checkpoint when it
            already holds events).
        fetcher: the fetch strategy (shared client and rate limit behind it).
        tokens: the process's symbol directory.
        prices: USD prices, or ``None`` to leave trades unpriced.
    """

    def __init__(
        self,
        feed: Feed,
        fetcher: TransactionFetcher,
        tokens: TokenDirectory,
        prices: PriceSource | None = None,
    ) -> None:
        self._feed = feed
        self._params = feed.params
        #: Where a previous producer stopped; nothing is appended until past it.
        self._resume = feed.checkpoint if feed.next_seq > FIRST_FEED_SEQ else None
        self._anchor_slot = self._resume.anchor_slot if self._resume is not None else None
        self._last_signature: str | None = None
        self._fetcher = fetcher
        self._tokens = tokens
        self._prices = prices
        self._prefetching = prices if isinstance(prices, PrefetchingSource) else None
        self._pending: list[Trade] = []
        self._symbols: _Symbols = {}
        #: Look-ups of the runs published before the first batch was sent, which
        #: did not wait for them: the next batch and the summary do.
        self._unnamed: list[asyncio.Future[None]] = []
        #: Extracted runs waiting for their prices, then for their symbols, in
        #: order; ``None`` ends the fetch.
        self._stage: asyncio.Queue[_Staged | None] = asyncio.Queue()
        self._priced: asyncio.Queue[tuple[list[Trade], _Staged] | None] = asyncio.Queue()
        #: Places for runs in either queue (NAMING_LOOKAHEAD): the fetch waits for the publisher.
        self._room = asyncio.Semaphore(NAMING_LOOKAHEAD)
        self._lookups: set[asyncio.Future[Any]] = set()
        self._found = 0
        self._batches = 0
        self._sent = 0
        self._summary = WalletSummary()
        #: The thread booking the summary, once it has every trade.
        self._booking: asyncio.Future[PositionBook] | None = None
        #: Oldest-first streams know each sale's realized P&L as they go.
        self._tracker = PnlTracker() if self._params.order is HistoryOrder.ASC else None

    async def run(self) -> None:
        """Append the feed's events up to its final one; never raises except on cancellation.

        Upstream failures after retries become an ``UPSTREAM_UNAVAILABLE``
        error event; unexpected failures an ``INTERNAL_ERROR`` one (logged
        here, never sent with internals).
        """
        feed = self._feed
        try:
            await self._fetch_and_publish()
        except _HistoryChanged:
            log.warning("feed %s: the history no longer lines up with what was sent", feed.feed_id)
            await self._fail(
                StreamFailure(ErrorCode.STREAM_EXPIRED, "the wallet's history changed since the stream began; start a new stream")
            )
        except HeliusError as error:
            log.warning("feed %s: upstream failed (%s on %s)", feed.feed_id, type(error).__name__, error.endpoint)
            await self._fail(
                StreamFailure(
                    ErrorCode.UPSTREAM_UNAVAILABLE,
                    "the transaction history provider is unavailable; try again shortly",
                    {"trades_sent": self._sent},
                )
            )
        except WalletDoctorError as error:
            await self._fail(error)
        except FeedLost:
            raise  # another process continues the feed: nothing to append here
        except Exception:
            log.exception("feed %s: pipeline failed", feed.feed_id)
            await self._fail(StreamFailure(ErrorCode.INTERNAL_ERROR, "internal error"))
        finally:
            # Cancellation or failure: no look-up may outlive the stream.
            for lookup in self._lookups:
                lookup.cancel()
            booking = self._booking
            if booking is not None and not booking.done():
                # Cancelled while a thread books the summary: it reads the
                # summary's files, so they are deleted once it is done.
                booking.add_done_callback(lambda _: self._summary.close())
            else:
                self._summary.close()

    async def _fetch_and_publish(self) -> None:
        """The fetch stages each run of transactions as it comes; a publisher sends
        each run, in order, as soon as its look-ups are done."""
        params = self._params
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._count_runs())
                group.create_task(self._publish_runs())
                progress = await self._fetcher.run(
                    params.wallet,
                    params.window,
                    self._on_transactions,
                    params.order,
                    on_listed=self._prefetch_prices,
                    # Trades instead of transactions while runs wait for their turn
                    # (measured: 64 kB per 100 real transactions against 1 MB decoded).
                    read=self._read,
                )
                self._stage.put_nowait(None)
        except BaseExceptionGroup as failure:
            raise _first_error(failure) from None
        await self._flush(has_more=False)
        if self._resume is not None and self._batches < self._resume.batches:
            raise _HistoryChanged
        await self._publish(EventName.COMPLETE, await self._complete(progress))

    def _read(self, transaction: dict[str, Any]) -> _Read:
        """Extract the wallet's trade as its transaction is parsed, out of order, and ask
        for the token prices it will need then: a run waits for its turn behind the
        runs before it, and a token-to-token trade's prices (one Birdeye round trip)
        are ready when it comes (measured: the real wallet's first batch waited
        0.2 s for two of them, asked once the slowest run before theirs was in)."""
        slot = transaction.get("slot")
        trade = extract_trade(transaction, self._params.wallet)
        if trade is not None and self._prefetching is not None:
            for mint, when in token_prices_asked(trade):
                self._prefetching.prefetch(mint, (when,), priority=HIGH_PRIORITY)
        return _Read(slot if isinstance(slot, int) else None, trade)

    def _prefetch_prices(self, block_times: list[int]) -> None:
        """Fetch SOL's prices at the listed signatures' times while they are parsed:
        most trades are valued through SOL, and their run then finds them ready."""
        if self._prefetching is not None:
            self._prefetching.prefetch(NATIVE_SOL_MINT, block_times)

    async def _on_transactions(self, transactions: list[_Read], progress: FetchProgress) -> None:
        if self._params.order is HistoryOrder.DESC and transactions:
            if self._anchor_slot is None:
                self._anchor_slot = transactions[0].slot
            elif self._resume is not None:
                anchor = self._anchor_slot
                transactions = [t for t in transactions if t.slot is None or t.slot <= anchor]
        trades = [t.trade for t in transactions if t.trade is not None]
        # The run that fills the first batch sends the symbols of every run
        # before it that are still queued, with its own, at once: the second
        # batch waits for them. One DAS request, where one per run spent places
        # of the Enhanced API's window (shared with the parse requests) that
        # the first second needs. So does the last run: the stream's end
        # waits for nothing else.
        last = progress.listing_done and progress.transactions_scanned >= progress.signatures_listed
        urgent = last or self._found < self._params.batch_size <= self._found + len(trades)
        self._found += len(trades)
        # Symbols and prices of the run at once: one round trip.
        mints = {m for t in trades for m in (t.token_in_mint, t.token_out_mint)}
        naming = self._track(self._name(mints, urgent=urgent))
        pricing = self._pricing(trades)
        await self._room.acquire()
        self._stage.put_nowait(_Staged(pricing, naming, self._progress(progress)))

    def _track(self, lookup: Coroutine[Any, Any, _T]) -> asyncio.Future[_T]:
        """Run ``lookup`` beside the fetch; cancelled with the stream."""
        future = asyncio.ensure_future(lookup)
        self._lookups.add(future)
        future.add_done_callback(self._lookups.discard)
        return future

    async def _name(self, mints: set[str], *, urgent: bool) -> None:
        self._symbols.update(await self._tokens.symbols(mints, urgent=urgent))

    def _pricing(self, trades: list[Trade]) -> asyncio.Future[list[Trade]]:
        """The run's valued trades: ready at once when its prices are all held (SOL's
        are prefetched), so the publisher finds it without the loop turns of a task
        per look-up; else a look-up beside the fetch."""
        prices = self._prices
        valued = trades
        if prices is not None and trades:
            held = value_cached(trades, prices)
            if held is None:
                return self._track(value_trades(trades, prices))
            valued = held
        future = asyncio.get_running_loop().create_future()
        future.set_result(valued)
        return future

    async def _count_runs(self) -> None:
        """Add each staged run's trades to the summary, in order, as soon as they are
        priced, and hand the run on to :meth:`_publish_runs`. Once the fetch has
        ended (``None``), the summary has every trade: its booking starts then,
        beside the last runs' symbol look-ups (it needs prices, not symbols).

        Sorting and booking the whole history is CPU work that grows with the
        wallet (seconds for 200k trades): in a thread, off the event loop.
        """
        while (staged := await self._stage.get()) is not None:
            trades = await staged.pricing
            for trade in trades:
                self._summary.add(trade)
            if self._tracker is not None:
                trades = [self._tracker.apply(trade) for trade in trades]
            self._priced.put_nowait((trades, staged))
        self._booking = asyncio.ensure_future(asyncio.to_thread(self._summary.book))
        self._priced.put_nowait(None)

    async def _publish_runs(self) -> None:
        """Publish counted runs in order, each once its symbols are known, until the end (``None``)."""
        while (counted := await self._priced.get()) is not None:
            await self._publish_run(*counted)
            self._room.release()

    async def _publish_run(self, trades: list[Trade], staged: _Staged) -> None:
        if self._batches:
            await staged.naming
        else:
            self._unnamed.append(staged.naming)
        self._pending.extend(trades)
        batch_size = self._params.batch_size
        while len(self._pending) >= batch_size:
            await self._publish_batch(batch_size, has_more=True)
        await self._publish(EventName.PROGRESS, staged.progress)

    async def _flush(self, *, has_more: bool) -> None:
        if self._pending:
            await self._publish_batch(len(self._pending), has_more=has_more)
        await self._named()

    async def _named(self) -> None:
        """Wait for the look-ups the first batch did not wait for."""
        while self._unnamed:
            await self._unnamed.pop()

    async def _publish_batch(self, size: int, *, has_more: bool) -> None:
        if self._batches:
            await self._named()
            symbols = self._symbols
        else:
            # Names found since the runs were staged count too (another stream's look-up).
            symbols = self._tokens.known(m for t in self._pending[:size] for m in (t.token_in_mint, t.token_out_mint))
            symbols.update(self._symbols)
        batch, self._pending = self._pending[:size], self._pending[size:]
        self._batches += 1
        self._sent += len(batch)
        self._last_signature = batch[-1].signature
        resume = self._resume
        if resume is not None and self._batches <= resume.batches:
            # Sent by the feed's previous producer; check that it lines up.
            if self._batches == resume.batches and (self._sent, self._last_signature) != (resume.trades, resume.last_signature):
                raise _HistoryChanged
            return
        sent = self._sent
        checkpoint = Checkpoint(self._sent, self._batches, self._last_signature, self._anchor_slot)
        await self._publish(
            EventName.TRADES,
            {
                "trades": [
                    dataclasses.replace(
                        trade, token_in=symbols.get(trade.token_in_mint), token_out=symbols.get(trade.token_out_mint)
                    ).to_wire()
                    for trade in batch
                ],
                "batch_num": self._batches,
                "total_yielded": sent,
                "has_more": has_more,
            },
            checkpoint=checkpoint,
        )

    def _progress(self, progress: FetchProgress) -> dict[str, Any]:
        now = time.time()
        return {
            "timestamp": now,  # replaced when published
            "step": "fetching",
            "message": f"scanned {progress.transactions_scanned} transactions, found {self._found} trades",
            "percentage": progress.percentage(self._params.window, int(now)),
            "pages_fetched": progress.pages_fetched,
            "transactions_scanned": progress.transactions_scanned,
            "trades_found": self._found,
        }

    async def _complete(self, progress: FetchProgress) -> dict[str, Any]:
        assert self._booking is not None, "_count_runs books the summary at the fetch's end"
        # Shielded: a cancellation cannot stop the thread, only stop waiting for it.
        book = await asyncio.shield(self._booking)
        summary = await asyncio.to_thread(self._summary.to_summary, self._symbols, book)
        summary["transactions_scanned"] = progress.transactions_scanned
        summary["transactions_missing"] = progress.transactions_missing
        return {
            "trades_found": self._summary.trades_found,
            "duration": round(time.time() - self._feed.started_at, 3),
            "summary": summary,
        }

    async def _publish(self, name: EventName, data: dict[str, Any], *, checkpoint: Checkpoint | None = None) -> None:
        if name is EventName.PROGRESS:
            if self._resume is not None and self._batches < self._resume.batches:
                return
            # Stamped when sent, not when the run was fetched: a probe compares
            # it with the arrival time to tell whether a proxy buffers.
            data["timestamp"] = time.time()
        await self._feed.append(name, data, checkpoint=checkpoint)

    async def _fail(self, error: WalletDoctorError) -> None:
        await self._publish(EventName.ERROR, error.to_json())


def _first_error(group: BaseExceptionGroup) -> BaseException:
    """The first leaf of a TaskGroup failure (the one that stopped the others)."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


class _Staged(NamedTuple):
    """A run of trades waiting for its look-ups: its trades valued (``pricing``), its
    tokens named (``naming``, into the pipeline's symbols), its ``progress`` event data."""

    pricing: asyncio.Future[list[Trade]]
    naming: asyncio.Future[None]
    progress: dict[str, Any]


class _HistoryChanged(Exception):
    """A continued feed's trades do not line up with those already sent."""
