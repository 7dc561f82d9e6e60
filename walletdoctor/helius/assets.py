"""Token symbols from DAS ``getAssetBatch``, cached in the process and, with Redis, across processes.

Symbols never change for a mint in practice, so the per-process cache is
kept without expiry, bounded in size. With Redis (``REDIS_URL``) every
process and host also shares what DAS answered for a day
(:data:`SHARED_SYMBOL_TTL_S`): a mint named by one process costs the
others one Redis ``MGET`` instead of a DAS request. Look-ups are
coalesced: at most :data:`MAX_LOOKUPS_IN_FLIGHT` DAS requests are in flight
per process, at least :data:`LOOKUP_SPACING_S` apart, and every mint asked
for meanwhile, by any stream, goes in the next one. Every DAS request takes
a place in the Enhanced API's window that a parse request would otherwise
have: a request per run of transactions cost the real wallet 73 of them,
four in flight 29, one in flight 8 to 13, one in flight and 0.5 s apart 5
(its last parse request left 0.2 s sooner). A stream's first batch waits
for no look-up (it names what :meth:`TokenDirectory.known` holds); the
second batch does not wait for that queue: the run that fills the first
sends what is queued at once (``urgent``), and the window's reserved places
(:class:`~walletdoctor.rate.RequestRate`) let it go at once too; nor does
its last run, which the end of the stream waits for.

Where DAS knows no symbol, the wire form names the token by its whole mint
(DESIGN section 1, ``token_in``/``token_out``: "symbols where known, else
mints"), which a display shortens; the mint itself is never lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis

from walletdoctor.helius.cache import RedisCache, UpstreamCache
from walletdoctor.helius.client import MAX_ASSET_BATCH, HeliusClient
from walletdoctor.helius.errors import HeliusError
from walletdoctor.solana import WELL_KNOWN_SYMBOLS

__all__ = ["DEFAULT_SYMBOL_CACHE_SIZE", "MAX_LOOKUPS_IN_FLIGHT", "SHARED_SYMBOL_TTL_S", "TokenDirectory", "symbol_of_asset"]

log = logging.getLogger(__name__)

DEFAULT_SYMBOL_CACHE_SIZE = 50_000
#: DAS look-ups in flight at once per process (see the module docstring).
MAX_LOOKUPS_IN_FLIGHT = 1
#: Least time between the starts of two look-ups that are not urgent, seconds: the
#: mints of the runs parsed meanwhile gather into one request.
LOOKUP_SPACING_S = 0.5
#: How long a DAS answer stays in the shared cache, seconds (a day): long
#: enough that a busy fleet asks DAS once per mint and day, short enough
#: that a token whose metadata DAS lacked is asked again.
SHARED_SYMBOL_TTL_S = 86_400.0
#: Shared-cache keys, beside the upstream cache's ``wd:up:`` entries.
_SHARED_KEY = "wd:up:symbol:"
#: Stored for a mint DAS knows no symbol of (a symbol is never empty).
_NO_SYMBOL = b""


def symbol_of_asset(asset: dict[str, Any] | None) -> str | None:
    """The symbol of a DAS asset: ``token_info.symbol``, else ``content.metadata.symbol``.

    Blank symbols (and the invisible U+3164 padding some memecoins use)
    count as none.
    """
    if not asset:
        return None
    for holder, key in ((asset.get("token_info"), "symbol"), ((asset.get("content") or {}).get("metadata"), "symbol")):
        if isinstance(holder, dict):
            value = holder.get(key)
            if isinstance(value, str) and (symbol := value.replace("\u3164", "").strip()):
                return symbol
    return None


class TokenDirectory:
    """Mint -> symbol, via ``getAssetBatch``, with a bounded per-process LRU cache
    and, when given, a cache shared by processes.

    Args:
        client: the process's Helius client (DAS shares its rate limit).
        cache_size: mints kept in this process.
        shared: asked for the mints this process does not know before DAS
            is, and given what DAS answers; :meth:`with_redis` makes the
            usual one. A cache never raises (a failing one misses).

    A failed DAS look-up is not fatal: the mints stay unnamed (the wire form
    falls back to the mint) and are asked for again next time.
    """

    def __init__(
        self,
        client: HeliusClient,
        *,
        cache_size: int = DEFAULT_SYMBOL_CACHE_SIZE,
        shared: UpstreamCache | None = None,
    ) -> None:
        self._client = client
        self._cache: OrderedDict[str, str | None] = OrderedDict(WELL_KNOWN_SYMBOLS.items())
        self._cache_size = cache_size
        self._shared = shared
        self._in_flight: dict[str, asyncio.Future[str | None]] = {}
        #: Mints waiting for a look-up, and the look-ups in flight.
        self._queued: list[str] = []
        self._senders: set[asyncio.Task[None]] = set()
        self._closed = False
        #: Loop time before which no look-up starts unless urgent, and the timer for it.
        self._next_start_at = 0.0
        self._spacing_timer: asyncio.TimerHandle | None = None
        #: Callers waiting for each mint queued or in flight.
        self._callers: dict[str, int] = {}

    @classmethod
    def with_redis(cls, client: HeliusClient, redis: aioredis.Redis | None) -> TokenDirectory:
        """A directory sharing symbols through ``redis`` (the app's ``REDIS`` pool) for
        :data:`SHARED_SYMBOL_TTL_S`; per process only when ``redis`` is ``None``."""
        return cls(client, shared=None if redis is None else RedisCache(redis, SHARED_SYMBOL_TTL_S))

    async def symbols(self, mints: Iterable[str], *, urgent: bool = False) -> dict[str, str | None]:
        """Symbols of ``mints`` (``None`` where DAS knows none).

        Mints this process does not know are queued for the directory's
        look-ups (:meth:`_send_queued`): one shared-cache read, then one DAS
        request, per 1,000 still unknown, with a few requests in flight at
        most; mints asked for meanwhile, by any stream, go together in the
        next, at least :data:`LOOKUP_SPACING_S` after the one before.
        ``urgent`` (a stream's second batch, or its end, waits for these)
        sends the queue at once, past both: one round trip, not the look-up
        in flight's and then their own. Never raises for upstream or cache
        failures.
        """
        result: dict[str, str | None] = {}
        waiting: dict[str, asyncio.Future[str | None]] = {}
        loop = asyncio.get_running_loop()
        for mint in set(mints):
            if mint in self._cache:
                self._cache.move_to_end(mint)
                result[mint] = self._cache[mint]
            elif mint in self._in_flight:
                waiting[mint] = self._in_flight[mint]
            else:
                waiting[mint] = self._in_flight[mint] = loop.create_future()
                self._queued.append(mint)
        callers = self._callers
        for mint in waiting:
            callers[mint] = callers.get(mint, 0) + 1
        try:
            if urgent and self._queued and not self._closed:
                self._start_sender()
            self._send_queued()
            for mint, future in waiting.items():
                result[mint] = await asyncio.shield(future)
        finally:
            for mint in waiting:
                if (left := callers[mint] - 1) > 0:
                    callers[mint] = left
                else:
                    del callers[mint]
        return result

    def known(self, mints: Iterable[str]) -> dict[str, str | None]:
        """Symbols of those of ``mints`` this process knows now (``None`` where DAS
        knows none); asks no one. Mints it does not know are left out."""
        cache = self._cache
        return {mint: cache[mint] for mint in mints if mint in cache}

    def _send_queued(self) -> None:
        """Start look-ups of the queued mints, up to 1,000 a request and
        :data:`MAX_LOOKUPS_IN_FLIGHT` requests at once; each that ends starts the next.

        Look-ups run in tasks of their own, shared by every caller: a caller
        that is cancelled stops waiting, and the look-up goes on for the others.
        A look-up starts :data:`LOOKUP_SPACING_S` after the one before at the
        earliest.
        """
        loop = asyncio.get_running_loop()
        while self._queued and len(self._senders) < MAX_LOOKUPS_IN_FLIGHT and not self._closed:
            if loop.time() < self._next_start_at:
                if self._spacing_timer is None:
                    self._spacing_timer = loop.call_at(self._next_start_at, self._spaced)
                return
            self._start_sender()

    async def aclose(self) -> None:
        """Cancel the look-ups in flight and wait for them: called before the
        process's HTTP session closes, so that none of them is left to use it."""
        self._closed = True
        if self._spacing_timer is not None:
            self._spacing_timer.cancel()
        while self._senders:  # each that ends would otherwise start the next
            senders = list(self._senders)
            for sender in senders:
                sender.cancel()
            await asyncio.gather(*senders, return_exceptions=True)
        queued, self._queued = self._queued, []
        for mint in queued:
            future = self._in_flight.pop(mint, None)
            if future is not None and not future.done():
                future.set_result(None)

    def _spaced(self) -> None:
        self._spacing_timer = None
        self._send_queued()

    def _start_sender(self) -> None:
        """Start a look-up of the first 1,000 queued mints that a caller still waits for."""
        # A stream that ended (its client left) while its mints were queued no
        # longer waits for them: they are not sent on its behalf.
        unwanted = [mint for mint in self._queued if mint not in self._callers]
        for mint in unwanted:
            self._in_flight.pop(mint).cancel()
        if unwanted:
            self._queued = [mint for mint in self._queued if mint in self._callers]
        batch, self._queued = self._queued[:MAX_ASSET_BATCH], self._queued[MAX_ASSET_BATCH:]
        if not batch:
            return
        loop = asyncio.get_running_loop()
        self._next_start_at = loop.time() + LOOKUP_SPACING_S
        sender = loop.create_task(self._send(batch), name="symbol-lookup")
        self._senders.add(sender)
        sender.add_done_callback(self._sent)

    def _sent(self, sender: asyncio.Task[None]) -> None:
        self._senders.discard(sender)
        self._send_queued()

    async def _send(self, batch: list[str]) -> None:
        result: dict[str, str | None] = {}
        answered: dict[str, bytes] = {}
        try:
            await self._look_up(batch, result, answered)
        except Exception:  # every waiter must be answered; the mints stay unnamed
            log.exception("symbol look-up failed")
        finally:
            for mint in batch:
                future = self._in_flight.pop(mint, None)
                if future is not None and not future.done():
                    future.set_result(result.get(mint))
        if answered and self._shared is not None:
            await self._shared.set_many(answered)

    async def _look_up(self, mints: list[str], result: dict[str, str | None], answered: dict[str, bytes]) -> None:
        """Fill ``result`` for ``mints`` (at most 1,000): shared cache, then DAS."""
        missing = await self._from_shared(mints, result)
        if not missing:
            return
        try:
            assets = await self._client.get_asset_batch(missing)
        except HeliusError as error:
            log.warning("symbol look-up failed (%s); mints stay unnamed", type(error).__name__)
            return
        for mint, asset in zip(missing, assets, strict=True):
            symbol = symbol_of_asset(asset)
            result[mint] = symbol
            self._remember(mint, symbol)
            answered[_SHARED_KEY + mint] = _NO_SYMBOL if symbol is None else symbol.encode()

    async def _from_shared(self, mints: list[str], result: dict[str, str | None]) -> list[str]:
        """Fill ``result`` from the shared cache; the mints it does not hold."""
        if self._shared is None:
            return mints
        values = await self._shared.get_many([_SHARED_KEY + mint for mint in mints])
        missing = []
        for mint, value in zip(mints, values, strict=True):
            if value is None:
                missing.append(mint)
                continue
            symbol = value.decode(errors="replace") if value != _NO_SYMBOL else None
            result[mint] = symbol
            self._remember(mint, symbol)
        return missing

    def _remember(self, mint: str, symbol: str | None) -> None:
        self._cache[mint] = symbol
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
