"""The history fetch strategy: page ``GET /v0/addresses/{address}/transactions``.

One request per 100 transactions, newest first, cursor = the last
signature of the previous page (FACTS 1.3). When Helius answers "Failed to
find events within the search period ... set before(-signature) to <sig>"
(HTTP 200 or 404), the walk continues from that signature, at most
``max_continuations`` times in a row.

Helius documents that this endpoint may return incomplete pages under
internal timeouts; this strategy cannot see such gaps (it has no signature
list to compare with), which is why the pipelined strategy is the default.
"""

from __future__ import annotations

from typing import Any

from walletdoctor.config import HistoryVocabulary
from walletdoctor.helius.client import MAX_HISTORY_PAGE
from walletdoctor.helius.errors import SearchExhausted
from walletdoctor.helius.fetch import (
    FetchProgress,
    HistoryOrder,
    HistorySource,
    ListingHook,
    Sink,
    TimeWindow,
    TransactionReader,
)

__all__ = ["DEFAULT_MAX_CONTINUATIONS", "HistoryFetcher"]

DEFAULT_MAX_CONTINUATIONS = 20


class HistoryFetcher:
    """Page the parsed-history endpoint; see the module docstring.

    Args:
        client: the process's Helius client, or the same through a cache.
        vocabulary: ``before-signature`` (current) or ``before`` (legacy) cursor name.
        max_continuations: "Failed to find events" answers accepted in a row.
        transaction_type: optional Helius ``type`` filter (e.g. ``SWAP``); the
            search-period answers only occur with a filter.
        page_size: transactions per request (1..100).
    """

    def __init__(
        self,
        client: HistorySource,
        *,
        vocabulary: HistoryVocabulary = HistoryVocabulary.SIGNATURE,
        max_continuations: int = DEFAULT_MAX_CONTINUATIONS,
        transaction_type: str | None = None,
        page_size: int = MAX_HISTORY_PAGE,
    ) -> None:
        if not 1 <= page_size <= MAX_HISTORY_PAGE:
            raise ValueError(f"page_size must be 1..{MAX_HISTORY_PAGE}")
        self._client = client
        self._vocabulary = vocabulary
        self._max_continuations = max_continuations
        self._transaction_type = transaction_type
        self._page_size = page_size

    async def run(
        self,
        address: str,
        window: TimeWindow,
        sink: Sink,
        order: HistoryOrder = HistoryOrder.DESC,
        on_listed: ListingHook | None = None,
        read: TransactionReader | None = None,
    ) -> FetchProgress:
        """Fetch ``address``'s history (see :class:`~walletdoctor.helius.fetch.TransactionFetcher`).

        Its pages come parsed: ``on_listed`` is never called; ``read`` is
        applied to a page's transactions as it comes.

        Oldest first uses Helius' ``sort-order=asc``; with the legacy
        vocabulary, which has none, the history is walked newest first and
        handed over reversed at the end (it is then held in memory).

        Raises:
            SearchExhausted: more than ``max_continuations`` search-period answers in a row.
            HeliusError: any other upstream failure after retries.
        """
        if order is HistoryOrder.ASC and self._vocabulary is HistoryVocabulary.LEGACY:
            held: list[Any] = []

            async def hold(transactions: list[Any], progress: FetchProgress) -> None:
                held.extend(transactions)

            progress = await self._walk(address, window, hold, read, oldest_first=False)
            if held:
                await sink(held[::-1], progress)
            return progress
        return await self._walk(address, window, sink, read, oldest_first=order is HistoryOrder.ASC)

    async def _walk(
        self, address: str, window: TimeWindow, sink: Sink, read: TransactionReader | None, *, oldest_first: bool
    ) -> FetchProgress:
        progress = FetchProgress()
        cursor: str | None = None
        continuations = 0
        while True:
            page = await self._client.address_transactions(
                address,
                cursor=cursor,
                limit=self._page_size,
                vocabulary=self._vocabulary,
                oldest_first=oldest_first,
                transaction_type=self._transaction_type,
            )
            progress.pages_fetched += 1
            if page.resume_from is not None:
                continuations += 1
                if continuations > self._max_continuations:
                    raise SearchExhausted(
                        f"more than {self._max_continuations} search-period continuations",
                        endpoint="enhanced_history",
                    )
                cursor = page.resume_from
                continue
            continuations = 0
            if not page.transactions:
                break
            cursor = page.transactions[-1]["signature"]
            kept = []
            past_window = False
            for transaction in page.transactions:
                timestamp = transaction.get("timestamp")
                # Newest first ends below `since`; oldest first ends above `until`.
                if window.is_before(timestamp) if not oldest_first else window.is_after(timestamp):
                    past_window = True
                    break
                if not (window.is_after(timestamp) or window.is_before(timestamp)):
                    kept.append(transaction)
            progress.signatures_listed += len(page.transactions)
            progress.transactions_scanned += len(page.transactions)
            progress.oldest_timestamp = page.transactions[-1].get("timestamp", progress.oldest_timestamp)
            if kept:
                await sink(kept if read is None else [read(transaction) for transaction in kept], progress)
            if past_window:
                break
        progress.listing_done = True
        return progress
