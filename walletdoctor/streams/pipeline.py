"""The producer side of a stream: fetch, extract trades, name tokens, batch, publish events.

Runs as one asyncio task per stream. Every event it publishes waits for
room in the stream's bounded queue, and the fetcher waits for this
pipeline, so a slow client throttles its own upstream fetch and nothing
else. Cancelling the task (client gone, shutdown) cancels the fetch and
every upstream request under it.

Event order: ``progress`` after each fetched run of transactions, a
``trades`` event each time ``batch_size`` trades are ready (the last one
may be short), then ``complete`` -- or ``error`` on failure.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from walletdoctor.analytics.extraction import extract_trade
from walletdoctor.analytics.tally import TradeTally
from walletdoctor.analytics.trade import Trade
from walletdoctor.errors import ErrorCode, StreamFailure, WalletDoctorError
from walletdoctor.helius.assets import TokenDirectory
from walletdoctor.helius.errors import HeliusError
from walletdoctor.helius.fetch import FetchProgress, TransactionFetcher
from walletdoctor.sse.event import EventName
from walletdoctor.streams.session import StreamSession

__all__ = ["TradePipeline"]

log = logging.getLogger(__name__)


class TradePipeline:
    """Turns one wallet's history into the stream's events.

    Args:
        session: the stream it publishes to.
        fetcher: the fetch strategy (shared client and rate limit behind it).
        tokens: the process's symbol directory.
    """

    def __init__(self, session: StreamSession, fetcher: TransactionFetcher, tokens: TokenDirectory) -> None:
        self._session = session
        self._fetcher = fetcher
        self._tokens = tokens
        self._pending: list[Trade] = []
        self._batches = 0
        self._tally = TradeTally()

    async def run(self) -> None:
        """Publish the whole stream after ``connected``; never raises except on cancellation.

        Upstream failures after retries become an ``UPSTREAM_UNAVAILABLE``
        error event; unexpected failures an ``INTERNAL_ERROR`` one (logged
        here, never sent with internals).
        """
        session = self._session
        try:
            progress = await self._fetcher.run(session.params.wallet, session.params.window, self._on_transactions)
            await self._flush(has_more=False)
            await session.publish(EventName.COMPLETE, self._complete(progress))
        except HeliusError as error:
            log.warning("stream %s: upstream failed (%s on %s)", session.stream_id, type(error).__name__, error.endpoint)
            await self._fail(
                StreamFailure(
                    ErrorCode.UPSTREAM_UNAVAILABLE,
                    "the transaction history provider is unavailable; try again shortly",
                    {"trades_sent": self._tally.trades - len(self._pending)},
                )
            )
        except WalletDoctorError as error:
            await self._fail(error)
        except Exception:
            log.exception("stream %s: pipeline failed", session.stream_id)
            await self._fail(StreamFailure(ErrorCode.INTERNAL_ERROR, "internal error"))

    async def _on_transactions(self, transactions: list[dict[str, Any]], progress: FetchProgress) -> None:
        wallet = self._session.params.wallet
        for transaction in transactions:
            trade = extract_trade(transaction, wallet)
            if trade is not None:
                self._pending.append(trade)
                self._tally.add(trade)
        batch_size = self._session.params.batch_size
        while len(self._pending) >= batch_size:
            await self._publish_batch(batch_size, has_more=True)
        await self._session.publish(EventName.PROGRESS, self._progress(progress))

    async def _flush(self, *, has_more: bool) -> None:
        if self._pending:
            await self._publish_batch(len(self._pending), has_more=has_more)

    async def _publish_batch(self, size: int, *, has_more: bool) -> None:
        batch, self._pending = self._pending[:size], self._pending[size:]
        symbols = await self._tokens.symbols({m for t in batch for m in (t.token_in_mint, t.token_out_mint)})
        self._batches += 1
        sent = self._tally.trades - len(self._pending)
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
            "message": f"scanned {progress.transactions_scanned} transactions, found {self._tally.trades} trades",
            "percentage": percentage,
            "pages_fetched": progress.pages_fetched,
            "transactions_scanned": progress.transactions_scanned,
            "trades_found": self._tally.trades,
        }

    def _complete(self, progress: FetchProgress) -> dict[str, Any]:
        summary = self._tally.to_summary()
        summary["transactions_scanned"] = progress.transactions_scanned
        summary["transactions_missing"] = progress.transactions_missing
        return {
            "trades_found": self._tally.trades,
            "duration": round(self._session.elapsed_s, 3),
            "summary": summary,
        }

    async def _fail(self, error: WalletDoctorError) -> None:
        await self._session.publish(EventName.ERROR, error.to_json())
