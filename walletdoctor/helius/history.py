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

from walletdoctor.config import HistoryVocabulary
from walletdoctor.helius.client import MAX_HISTORY_PAGE, HeliusClient
from walletdoctor.helius.errors import SearchExhausted
from walletdoctor.helius.fetch import FetchProgress, Sink, TimeWindow

__all__ = ["DEFAULT_MAX_CONTINUATIONS", "HistoryFetcher"]

DEFAULT_MAX_CONTINUATIONS = 20


class HistoryFetcher:
    """Page the parsed-history endpoint; see the module docstring.

    Args:
        client: the process's Helius client.
        vocabulary: ``before-signature`` (current) or ``before`` (legacy) cursor name.
        max_continuations: "Failed to find events" answers accepted in a row.
        transaction_type: optional Helius ``type`` filter (e.g. ``SWAP``); the
            search-period answers only occur with a filter.
        page_size: transactions per request (1..100).
    """

    def __init__(
        self,
        client: HeliusClient,
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

    async def run(self, address: str, window: TimeWindow, sink: Sink) -> FetchProgress:
        """Fetch ``address``'s history (see :class:`~walletdoctor.helius.fetch.TransactionFetcher`).

        Raises:
            SearchExhausted: more than ``max_continuations`` search-period answers in a row.
            HeliusError: any other upstream failure after retries.
        """
        progress = FetchProgress()
        before: str | None = None
        continuations = 0
        while True:
            page = await self._client.address_transactions(
                address,
                before=before,
                limit=self._page_size,
                vocabulary=self._vocabulary,
                transaction_type=self._transaction_type,
            )
            progress.pages_fetched += 1
            if page.resume_before is not None:
                continuations += 1
                if continuations > self._max_continuations:
                    raise SearchExhausted(
                        f"more than {self._max_continuations} search-period continuations",
                        endpoint="enhanced_history",
                    )
                before = page.resume_before
                continue
            continuations = 0
            if not page.transactions:
                break
            before = page.transactions[-1]["signature"]
            kept = []
            reached_since = False
            for transaction in page.transactions:
                timestamp = transaction.get("timestamp")
                if window.is_before(timestamp):
                    reached_since = True
                    break
                if not window.is_after(timestamp):
                    kept.append(transaction)
            progress.signatures_listed += len(page.transactions)
            progress.transactions_scanned += len(page.transactions)
            progress.oldest_timestamp = page.transactions[-1].get("timestamp", progress.oldest_timestamp)
            if kept:
                await sink(kept, progress)
            if reached_since:
                break
        progress.listing_done = True
        return progress
