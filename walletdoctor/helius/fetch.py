"""What a fetch strategy is: it walks a wallet's history and hands over transactions in order.

Two strategies implement :class:`TransactionFetcher`:

- :class:`~walletdoctor.helius.pipelined.PipelinedFetcher` (default):
  signatures first, then parse batches in parallel. Helius' own advice for
  complete histories (FACTS 1.3).
- :class:`~walletdoctor.helius.history.HistoryFetcher`: the paged
  ``/v0/addresses/{address}/transactions`` endpoint.

Both deliver enhanced transactions in history order, newest first or
oldest first, to an awaited ``sink``; awaiting the sink is the
backpressure that keeps a slow stream from fetching ahead without bound.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from walletdoctor.config import HistoryVocabulary
    from walletdoctor.helius.client import HistoryPage

__all__ = ["FetchProgress", "HistoryOrder", "HistorySource", "ListingHook", "Sink", "TimeWindow", "TransactionFetcher", "TransactionReader"]


class HistoryOrder(str, enum.Enum):
    """The order transactions reach the sink: newest first (Helius' own) or oldest first.

    Newest first needs no look-ahead and gives the first trades soonest;
    oldest first lets cost basis be computed as the stream goes, at the price
    of listing every signature before the first parse.
    """

    DESC = "desc"
    ASC = "asc"


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Inclusive block-time bounds in unix seconds; ``None`` is open-ended."""

    since: int | None = None
    until: int | None = None

    def is_after(self, timestamp: int | None) -> bool:
        """True when ``timestamp`` is newer than ``until`` (skip it, keep going)."""
        return self.until is not None and timestamp is not None and timestamp > self.until

    def is_before(self, timestamp: int | None) -> bool:
        """True when ``timestamp`` is older than ``since`` (newest-first walk: stop here)."""
        return self.since is not None and timestamp is not None and timestamp < self.since


@dataclass(slots=True)
class FetchProgress:
    """How far a fetch has come; read by the stream's ``progress`` events.

    Attributes:
        pages_fetched: upstream list pages read (signature or history pages).
        transactions_scanned: transactions handed to the sink, plus those
            skipped without parsing (failed transactions, outside the window).
        signatures_listed: signatures known so far (pipelined strategy).
        listing_done: every signature of the history (or window) is known.
        transactions_missing: signatures Helius never returned a transaction for.
        oldest_timestamp: block time of the oldest transaction seen so far.
    """

    pages_fetched: int = 0
    transactions_scanned: int = 0
    signatures_listed: int = 0
    listing_done: bool = False
    transactions_missing: int = 0
    oldest_timestamp: int | None = None

    def percentage(self, window: TimeWindow, now: int) -> float | None:
        """Completion in percent, ``None`` while it cannot be known.

        Exact once the signature listing is done; before that, estimated from
        how far back in the time window the walk has come, when ``since`` is set.
        """
        if self.listing_done:
            if not self.signatures_listed:
                return 100.0
            return round(min(100.0, 100.0 * self.transactions_scanned / self.signatures_listed), 1)
        if window.since is not None and self.oldest_timestamp is not None:
            newest = window.until if window.until is not None else now
            span = max(1, newest - window.since)
            return round(min(99.0, max(0.0, 100.0 * (newest - self.oldest_timestamp) / span)), 1)
        return None


#: Awaited with each run of transactions, in history order: enhanced
#: transactions, or what a :data:`TransactionReader` made of each.
Sink = Callable[[list[Any], FetchProgress], Awaitable[None]]
#: Told the block times (unix s) of signatures as they are listed, before
#: their transactions are parsed (to fetch their prices meanwhile).
ListingHook = Callable[[list[int]], None]
#: Turns an enhanced transaction, as soon as it is parsed, into what the sink
#: reads (a trade, say): a fetch waiting for its sink then holds that instead.
TransactionReader = Callable[[dict[str, Any]], Any]


class HistorySource(Protocol):
    """The Helius endpoints a fetch strategy reads: the
    :class:`~walletdoctor.helius.client.HeliusClient` itself, or the same
    through a cache (:class:`~walletdoctor.helius.cache.CachedHistory`)."""

    async def get_signatures(
        self, address: str, *, before: str | None = None, until: str | None = None, limit: int = ...
    ) -> list[dict[str, Any]]:
        """``getSignaturesForAddress``: a page of signature infos, newest first."""

    async def parse_transactions(self, signatures: Sequence[str]) -> list[dict[str, Any]]:
        """``POST /v0/transactions``: enhanced transactions of up to 100 signatures."""

    async def address_transactions(
        self,
        address: str,
        *,
        cursor: str | None = None,
        limit: int = ...,
        vocabulary: HistoryVocabulary = ...,
        oldest_first: bool = False,
        transaction_type: str | None = None,
    ) -> HistoryPage:
        """``GET /v0/addresses/{address}/transactions``: one page of the history."""


class TransactionFetcher(Protocol):
    """A fetch strategy."""

    async def run(
        self,
        address: str,
        window: TimeWindow,
        sink: Sink,
        order: HistoryOrder = HistoryOrder.DESC,
        on_listed: ListingHook | None = None,
        read: TransactionReader | None = None,
    ) -> FetchProgress:
        """Walk ``address``'s history in ``order``, awaiting ``sink`` with each
        run of enhanced transactions in that order; return the final progress.
        A strategy that lists signatures before parsing them tells ``on_listed``
        their block times as it lists them. ``read``, when given, is applied to
        each transaction as soon as it is parsed, and the sink gets what it
        returns instead (what the strategy holds while it waits for the sink
        is then that much smaller).

        Raises :class:`~walletdoctor.helius.errors.HeliusError` when the
        upstream fails after retries; cancellation stops every request at once.
        """

