"""Token symbols from DAS ``getAssetBatch``, cached in the process and, with Redis, across processes.

Symbols never change for a mint in practice, so the per-process cache is
kept without expiry, bounded in size. With Redis (``REDIS_URL``) every
process and host also shares what DAS answered for a day
(:data:`SHARED_SYMBOL_TTL_S`): a mint named by one process costs the
others one Redis ``MGET`` instead of a DAS request. Concurrent streams
asking for the same unknown mint share one look-up.

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

__all__ = ["DEFAULT_SYMBOL_CACHE_SIZE", "SHARED_SYMBOL_TTL_S", "TokenDirectory", "symbol_of_asset"]

log = logging.getLogger(__name__)

DEFAULT_SYMBOL_CACHE_SIZE = 50_000
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

    @classmethod
    def with_redis(cls, client: HeliusClient, redis: aioredis.Redis | None) -> TokenDirectory:
        """A directory sharing symbols through ``redis`` (the app's ``REDIS`` pool) for
        :data:`SHARED_SYMBOL_TTL_S`; per process only when ``redis`` is ``None``."""
        return cls(client, shared=None if redis is None else RedisCache(redis, SHARED_SYMBOL_TTL_S))

    async def symbols(self, mints: Iterable[str]) -> dict[str, str | None]:
        """Symbols of ``mints`` (``None`` where DAS knows none).

        At most one shared-cache read for the mints this process does not
        know, then one DAS request per 1,000 still unknown; never raises for
        upstream or cache failures.
        """
        wanted = set(mints)
        result: dict[str, str | None] = {}
        unknown: list[str] = []
        waiting: dict[str, asyncio.Future[str | None]] = {}
        for mint in wanted:
            if mint in self._cache:
                self._cache.move_to_end(mint)
                result[mint] = self._cache[mint]
            elif mint in self._in_flight:
                waiting[mint] = self._in_flight[mint]
            else:
                unknown.append(mint)
        if unknown:
            await self._look_up(unknown, result)
        for mint, future in waiting.items():
            result[mint] = await asyncio.shield(future)
        return result

    async def _look_up(self, mints: list[str], result: dict[str, str | None]) -> None:
        loop = asyncio.get_running_loop()
        futures = {mint: loop.create_future() for mint in mints}
        self._in_flight.update(futures)
        answered: dict[str, bytes] = {}
        try:
            missing = await self._from_shared(mints, result)
            for start in range(0, len(missing), MAX_ASSET_BATCH):
                chunk = missing[start : start + MAX_ASSET_BATCH]
                try:
                    assets = await self._client.get_asset_batch(chunk)
                except HeliusError as error:
                    log.warning("symbol look-up failed (%s); mints stay unnamed", type(error).__name__)
                    for mint in chunk:
                        result[mint] = None
                    continue
                for mint, asset in zip(chunk, assets, strict=True):
                    symbol = symbol_of_asset(asset)
                    result[mint] = symbol
                    self._remember(mint, symbol)
                    answered[_SHARED_KEY + mint] = _NO_SYMBOL if symbol is None else symbol.encode()
        finally:
            for mint, future in futures.items():
                self._in_flight.pop(mint, None)
                if not future.done():
                    future.set_result(result.get(mint))
        # After the waiters are answered: only this caller waits for the write.
        if answered and self._shared is not None:
            await self._shared.set_many(answered)

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
