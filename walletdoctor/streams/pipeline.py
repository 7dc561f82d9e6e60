"""The producer side of a stream: fetch, extract trades, name tokens, batch, publish events.

Runs as one asyncio task per stream. Every event it publishes waits for
room in the stream's bounded queue, and the fetcher waits for this
pipeline, so a slow client throttles its own upstream fetch and nothing
else. Cancelling the task (client gone, shutdown) cancels the fetch and
every upstream request under it.

Event order: ``progress`` after each fetched run of transactions, a
``trades`` event each time ``batch_size`` trades are ready (the last one
may be short), then ``complete`` -- or ``error`` on failure.

Token symbols are looked up (DAS ``getAssetBatch``) as soon as a run of
transactions is extracted, while the fetch goes on; runs wait in a short
ordered stage until their symbols are known, so look-ups cost one round
trip at the start of a stream instead of one per batch.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import deque
from typing import Any

from walletdoctor.analytics.extraction import extract_trade
from walletdoctor.analytics.pnl import PnlTracker
from walletdoctor.analytics.prices import PriceSource
from walletdoctor.analytics.summary import WalletSummary
from walletdoctor.analytics.trade import Trade
from walletdoctor.analytics.valuation import value_trades
from walletdoctor.errors import ErrorCode, StreamFailure, WalletDoctorError
from walletdoctor.helius.assets import TokenDirectory
from walletdoctor.helius.errors import HeliusError
from walletdoctor.helius.fetch import FetchProgress, HistoryOrder, TransactionFetcher
from walletdoctor.sse.event import EventName
from walletdoctor.streams.session import StreamSession

__all__ = ["NAMING_LOOKAHEAD", "TradePipeline"]

log = logging.getLogger(__name__)

#: Runs of transactions whose symbol look-ups may be in flight at once.
NAMING_LOOKAHEAD = 8

_Symbols = dict[str, str | None]


class TradePipeline:
    """Turns one wallet's history into the stream's events.

    Args:
        session: the stream it publishes to.
        fetcher: the fetch strategy (shared client and rate limit behind it).
        tokens: the process's symbol directory.
    """

    def __init__(
        self,
        session: StreamSession,
        fetcher: TransactionFetcher,
        tokens: TokenDirectory,
        prices: PriceSource | None = None,
    ) -> None:
        self._session = session
        self._fetcher = fetcher
        self._tokens = tokens
        self._prices = prices
        self._pending: list[Trade] = []
        self._symbols: _Symbols = {}
        #: Extracted runs waiting for their look-ups: (symbols and prices, progress event data).
        self._stage: deque[tuple[asyncio.Task[list[Trade]], dict[str, Any]]] = deque()
        self._found = 0
        self._batches = 0
        self._sent = 0
        self._summary = WalletSummary()
        #: Oldest-first streams know each sale's realized P&L as they go.
        self._tracker = PnlTracker() if session.params.order is HistoryOrder.ASC else None
        #: What the stream ended with: the ``complete`` data or the error (for /summary).
        self.result: dict[str, Any] | WalletDoctorError | None = None

    async def run(self) -> None:
        """Publish the whole stream after ``connected``; never raises except on cancellation.

        Upstream failures after retries become an ``UPSTREAM_UNAVAILABLE``
        error event; unexpected failures an ``INTERNAL_ERROR`` one (logged
        here, never sent with internals).
        """
        session = self._session
        try:
            params = session.params
            progress = await self._fetcher.run(params.wallet, params.window, self._on_transactions, params.order)
            while self._stage:
                await self._publish_staged()
            await self._flush(has_more=False)
            complete = await self._complete(progress)
            self.result = complete
            await session.publish(EventName.COMPLETE, complete)
        except HeliusError as error:
            log.warning("stream %s: upstream failed (%s on %s)", session.stream_id, type(error).__name__, error.endpoint)
            await self._fail(
                StreamFailure(
                    ErrorCode.UPSTREAM_UNAVAILABLE,
                    "the transaction history provider is unavailable; try again shortly",
                    {"trades_sent": self._sent},
                )
            )
        except WalletDoctorError as error:
            await self._fail(error)
        except Exception:
            log.exception("stream %s: pipeline failed", session.stream_id)
            await self._fail(StreamFailure(ErrorCode.INTERNAL_ERROR, "internal error"))
        finally:
            # Cancellation or failure: no look-up may outlive the stream.
            for lookup, _ in self._stage:
                lookup.cancel()

    async def _on_transactions(self, transactions: list[dict[str, Any]], progress: FetchProgress) -> None:
        wallet = self._session.params.wallet
        trades = [trade for trade in (extract_trade(t, wallet) for t in transactions) if trade is not None]
        self._found += len(trades)
        lookup = asyncio.ensure_future(self._look_up(trades))
        self._stage.append((lookup, self._progress(progress)))
        while len(self._stage) > NAMING_LOOKAHEAD or (self._stage and self._stage[0][0].done()):
            await self._publish_staged()

    async def _look_up(self, trades: list[Trade]) -> list[Trade]:
        """Symbols and prices of a run of trades, both at once: one round trip."""
        mints = {m for t in trades for m in (t.token_in_mint, t.token_out_mint)}
        naming = self._tokens.symbols(mints)
        if self._prices is None or not trades:
            symbols = await naming
        else:
            symbols, trades = await asyncio.gather(naming, value_trades(trades, self._prices))
        self._symbols.update(symbols)
        return trades

    async def _publish_staged(self) -> None:
        lookup, progress_data = self._stage[0]
        trades = await lookup
        self._stage.popleft()
        for trade in trades:
            self._summary.add(trade)
        if self._tracker is not None:
            trades = [self._tracker.apply(trade) for trade in trades]
        self._pending.extend(trades)
        batch_size = self._session.params.batch_size
        while len(self._pending) >= batch_size:
            await self._publish_batch(batch_size, has_more=True)
        await self._session.publish(EventName.PROGRESS, progress_data)

    async def _flush(self, *, has_more: bool) -> None:
        if self._pending:
            await self._publish_batch(len(self._pending), has_more=has_more)

    async def _publish_batch(self, size: int, *, has_more: bool) -> None:
        batch, self._pending = self._pending[:size], self._pending[size:]
        symbols = self._symbols
        self._batches += 1
        self._sent += len(batch)
        sent = self._sent
        await self._session.publish(
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
        )

    def _progress(self, progress: FetchProgress) -> dict[str, Any]:
        percentage = progress.percentage(self._session.params.window, int(time.time()))
        return {
            "step": "fetching",
            "message": f"scanned {progress.transactions_scanned} transactions, found {self._found} trades",
            "percentage": percentage,
            "pages_fetched": progress.pages_fetched,
            "transactions_scanned": progress.transactions_scanned,
            "trades_found": self._found,
        }

    async def _complete(self, progress: FetchProgress) -> dict[str, Any]:
        # Sorting and booking the whole history is CPU work that grows with
        # the wallet (seconds for 200k trades): off the event loop.
        summary = await asyncio.to_thread(self._summary.to_summary, self._symbols)
        summary["transactions_scanned"] = progress.transactions_scanned
        summary["transactions_missing"] = progress.transactions_missing
        return {
            "trades_found": self._summary.trades_found,
            "duration": round(self._session.elapsed_s, 3),
            "summary": summary,
        }

    async def _fail(self, error: WalletDoctorError) -> None:
        self.result = error
        await self._session.publish(EventName.ERROR, error.to_json())
