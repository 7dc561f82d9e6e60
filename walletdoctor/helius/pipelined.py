"""The pipelined fetch strategy: list signatures ahead, parse batches in parallel, emit in order.

Helius' remedy for incomplete history pages (FACTS 1.3): page
``getSignaturesForAddress`` (1,000 a page, ``before`` cursor), parse the
signatures 100 at a time with ``POST /v0/transactions``, and ask again for
any signature an answer left out. The parse requests of one stream run
concurrently, bounded by a window of batches, under the client's
per-process rate limit; results are handed on strictly in history order.

Timeline of one stream (window = 3)::

    listing   [page 1: sig 0..999][page 2] ...   (up to `lookahead` batches ahead)
    parsing      [b0][b1][b2]  (window full: the next start waits for the sink)
    sink              b0 -> b1 -> b2 -> b3 ...   (in order, awaited)
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from typing import Any

from walletdoctor.helius.client import MAX_PARSE_BATCH, MAX_SIGNATURE_PAGE
from walletdoctor.helius.fetch import (
    FetchProgress,
    HistoryOrder,
    HistorySource,
    ListingHook,
    Sink,
    TimeWindow,
    TransactionReader,
)

__all__ = [
    "DEFAULT_LISTING_LOOKAHEAD",
    "DEFAULT_PARSED_AHEAD",
    "DEFAULT_PARSE_WINDOW",
    "DEFAULT_REFETCH_ROUNDS",
    "PipelinedFetcher",
]

log = logging.getLogger(__name__)

#: Parse batches in flight or waiting for the sink (``PARSE_WINDOW``, see ``walletdoctor.config``).
DEFAULT_PARSE_WINDOW = 64
#: Parse requests in flight (or parsed, waiting for the sink) at the least;
#: more only as the upstream's latency needs (see :class:`_Pace`).
DEFAULT_PARSED_AHEAD = 4
#: Parse batches listed ahead of the parse requests (100 signatures each).
DEFAULT_LISTING_LOOKAHEAD = 100
#: Extra requests for signatures a parse answer left out before giving up on them.
DEFAULT_REFETCH_ROUNDS = 3

#: (signatures to parse, signatures they stand for, skipped ones included)
_Listed = tuple[list[str], int]
#: A parsed batch: what the sink gets of each transaction found, in
#: signature order, and the block time (unix s) of the last one.
_Parsed = tuple[list[Any], int | None]
_ParseJob = tuple["asyncio.Task[_Parsed]", int]


class PipelinedFetcher:
    """Signatures first, then concurrent batch parsing; see the module docstring.

    Args:
        client: the process's Helius client, or the same through a cache (its rate
            limit is shared by all streams).
        window: parse batches in flight or waiting for the sink, per stream;
            bounds both upstream concurrency and memory (window x 100 transactions).
        parse_batch: signatures per ``POST /v0/transactions`` (<= 100).
        signature_page: signatures per ``getSignaturesForAddress`` page (<= 1,000).
        refetch_rounds: how often to re-ask for signatures an answer omitted.
        lookahead: batches of signatures listed ahead of parsing (memory:
            about 10 KB per batch), so the total is known early.
        parsed_ahead: parse requests kept in flight (or parsed, waiting for
            the sink) at the least; up to ``window`` as the upstream's latency
            needs.
    """

    def __init__(
        self,
        client: HistorySource,
        *,
        window: int = DEFAULT_PARSE_WINDOW,
        parse_batch: int = MAX_PARSE_BATCH,
        signature_page: int = MAX_SIGNATURE_PAGE,
        refetch_rounds: int = DEFAULT_REFETCH_ROUNDS,
        lookahead: int = DEFAULT_LISTING_LOOKAHEAD,
        parsed_ahead: int = DEFAULT_PARSED_AHEAD,
    ) -> None:
        if not 1 <= parse_batch <= MAX_PARSE_BATCH:
            raise ValueError(f"parse_batch must be 1..{MAX_PARSE_BATCH}")
        if not 1 <= signature_page <= MAX_SIGNATURE_PAGE:
            raise ValueError(f"signature_page must be 1..{MAX_SIGNATURE_PAGE}")
        self._client = client
        self._window = max(1, window)
        self._parse_batch = parse_batch
        self._signature_page = signature_page
        self._refetch_rounds = refetch_rounds
        self._lookahead = max(1, lookahead)
        self._parsed_ahead = max(1, parsed_ahead)

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

        Oldest first lists every signature of the window before the first parse
        (signatures only, about 100 bytes each), then parses from the oldest batch.

        Raises the first :class:`~walletdoctor.helius.errors.HeliusError` of any
        request (the others are cancelled), or whatever ``sink`` raises.
        """
        progress = FetchProgress()
        listed: asyncio.Queue[_Listed | None] = asyncio.Queue(maxsize=self._lookahead)
        jobs: asyncio.Queue[_ParseJob | None] = asyncio.Queue(maxsize=self._window)
        try:
            async with asyncio.TaskGroup() as group:
                pace = _Pace(self._window, self._parsed_ahead)
                group.create_task(self._list(address, window, listed, progress, order, on_listed, pace))
                launched: deque[asyncio.Task[_Parsed]] = deque()
                taken = asyncio.Event()
                group.create_task(self._launch(listed, jobs, progress, group, launched, taken, read, pace))
                loop = asyncio.get_running_loop()
                while (job := await jobs.get()) is not None:
                    task, covered = job
                    transactions, oldest_timestamp = await task
                    launched.popleft()
                    taken.set()
                    progress.transactions_scanned += covered
                    if oldest_timestamp is not None:
                        progress.oldest_timestamp = oldest_timestamp
                    started = loop.time()
                    await sink(transactions, progress)
                    pace.sink_s.add(loop.time() - started)
        except BaseExceptionGroup as group_error:
            raise _first_error(group_error) from None
        return progress

    async def _list(
        self,
        address: str,
        window: TimeWindow,
        listed: asyncio.Queue[_Listed | None],
        progress: FetchProgress,
        order: HistoryOrder,
        on_listed: ListingHook | None,
        pace: _Pace,
    ) -> None:
        """Page signatures into batches of ``parse_batch``, up to ``lookahead`` batches ahead.

        Listing runs ahead of parsing so that the total, and with it an exact
        percentage, is known early; signatures are small (about 100 bytes each).
        """
        batch: list[str] = []
        skipped = 0
        before: str | None = None
        # Oldest first cannot start before the oldest signature is known.
        held: list[_Listed] | None = [] if order is HistoryOrder.ASC else None

        async def emit(item: _Listed) -> None:
            if held is None:
                await listed.put(item)
            else:
                held.append(item)

        while True:
            asked = asyncio.get_running_loop().time()
            page = await self._client.get_signatures(address, before=before, limit=self._signature_page)
            if not progress.pages_fetched:
                # The first estimate of the upstream's latency, before any parse.
                pace.latency_s.add(asyncio.get_running_loop().time() - asked)
            progress.pages_fetched += 1
            if on_listed is not None:
                on_listed([t for info in page if isinstance(t := info.get("blockTime"), int)])
            reached_since = False
            for info in page:
                block_time = info.get("blockTime")
                if window.is_before(block_time):
                    reached_since = True
                    break
                progress.signatures_listed += 1
                if window.is_after(block_time) or info.get("err") is not None:
                    # Out of the window, or failed on chain: no trade can come of it.
                    skipped += 1
                    continue
                batch.append(info["signature"])
                if len(batch) == self._parse_batch:
                    await emit((batch, len(batch) + skipped))
                    batch, skipped = [], 0
            if reached_since or len(page) < self._signature_page:
                break
            before = page[-1]["signature"]
        if batch or skipped:
            await emit((batch, len(batch) + skipped))
        progress.listing_done = True
        for signatures, covered in reversed(held or []):
            await listed.put((signatures[::-1], covered))
        await listed.put(None)

    async def _launch(
        self,
        listed: asyncio.Queue[_Listed | None],
        jobs: asyncio.Queue[_ParseJob | None],
        progress: FetchProgress,
        group: asyncio.TaskGroup,
        launched: deque[asyncio.Task[_Parsed]],
        taken: asyncio.Event,
        read: TransactionReader | None,
        pace: _Pace,
    ) -> None:
        """Start a parse request per listed batch, while fewer than the pace allows
        are in flight or parsed and waiting for the sink."""
        while (item := await listed.get()) is not None:
            # The batch the sink waits for is in ``launched``: room comes when it is taken.
            while len(launched) >= pace.in_flight:
                taken.clear()
                await taken.wait()
            signatures, covered = item
            task = group.create_task(self._parse(signatures, progress, read, pace))
            launched.append(task)
            await jobs.put((task, covered))
        await jobs.put(None)

    async def _parse(
        self, signatures: list[str], progress: FetchProgress, read: TransactionReader | None, pace: _Pace
    ) -> _Parsed:
        found: dict[str, tuple[Any, Any]] = {}
        wanted = set(signatures)
        missing = signatures
        for _ in range(1 + self._refetch_rounds):
            if not missing:
                break
            asked = asyncio.get_running_loop().time()
            answer = await self._client.parse_transactions(missing)
            pace.latency_s.add(asyncio.get_running_loop().time() - asked)
            for transaction in answer:
                signature = transaction.get("signature")
                if signature in wanted:
                    found[signature] = (
                        transaction if read is None else read(transaction),
                        transaction.get("timestamp"),
                    )
            missing = [s for s in signatures if s not in found]
        if missing:
            progress.transactions_missing += len(missing)
            log.warning("Helius returned no transaction for %d signatures after retries", len(missing))
        kept = [found[s] for s in signatures if s in found]
        oldest = kept[-1][1] if kept else None
        return [item for item, _ in kept], oldest if isinstance(oldest, int) else None


class _Average:
    """An exponentially weighted moving average of durations, seconds (0 until the first)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def add(self, sample_s: float) -> None:
        self.value = sample_s if not self.value else 0.8 * self.value + 0.2 * sample_s


class _Pace:
    """How many parse requests one fetch keeps in flight (or parsed, waiting).

    Enough to hide the upstream's latency behind the sink's work, by
    Little's law (latency / time the sink takes per batch), and no more:
    each parsed batch holds 100 decoded transactions, and a fast upstream
    with a busy sink (a CPU-bound process, slow clients) would otherwise pile
    a whole window of them up. Against Helius (600 ms a parse, a few ms of
    work each) that is the whole window; against a local emulator answering
    in a millisecond, the minimum.
    """

    __slots__ = ("_least", "_most", "latency_s", "sink_s")

    def __init__(self, most: int, least: int) -> None:
        self._most = most
        self._least = min(least, most)
        self.latency_s = _Average()
        self.sink_s = _Average()

    @property
    def in_flight(self) -> int:
        """Requests to have out (or parsed, waiting) now."""
        if not self.latency_s.value:
            return self._most
        needed = math.ceil(self.latency_s.value / max(self.sink_s.value, 0.001))
        return max(self._least, min(self._most, needed + self._least))


def _first_error(group_error: BaseExceptionGroup) -> BaseException:
    """The first leaf error of a TaskGroup failure (the one that cancelled the others)."""
    error: BaseException = group_error
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
