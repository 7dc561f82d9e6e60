"""Token symbols from DAS ``getAssetBatch``, cached for the life of the process.

Symbols never change for a mint in practice, so a per-process cache is
kept without expiry, bounded in size. Concurrent streams asking for the
same unknown mint share one look-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from walletdoctor.helius.client import MAX_ASSET_BATCH, HeliusClient
from walletdoctor.helius.errors import HeliusError
from walletdoctor.solana import WELL_KNOWN_SYMBOLS

__all__ = ["DEFAULT_SYMBOL_CACHE_SIZE", "TokenDirectory", "symbol_of_asset"]

log = logging.getLogger(__name__)

DEFAULT_SYMBOL_CACHE_SIZE = 50_000


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
    """Mint -> symbol, via ``getAssetBatch``, with a bounded per-process LRU cache.

    A failed look-up is not fatal: the mints stay unnamed (the wire form
    falls back to the mint) and are asked for again next time.
    """

    def __init__(self, client: HeliusClient, *, cache_size: int = DEFAULT_SYMBOL_CACHE_SIZE) -> None:
        self._client = client
        self._cache: OrderedDict[str, str | None] = OrderedDict(WELL_KNOWN_SYMBOLS.items())
        self._cache_size = cache_size
        self._in_flight: dict[str, asyncio.Future[str | None]] = {}

    async def symbols(self, mints: Iterable[str]) -> dict[str, str | None]:
        """Symbols of ``mints`` (``None`` where DAS knows none). At most one request
        per 1,000 unknown mints; never raises for upstream failures."""
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
        try:
            for start in range(0, len(mints), MAX_ASSET_BATCH):
                chunk = mints[start : start + MAX_ASSET_BATCH]
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
        finally:
            for mint, future in futures.items():
                self._in_flight.pop(mint, None)
                if not future.done():
                    future.set_result(result.get(mint))

    def _remember(self, mint: str, symbol: str | None) -> None:
        self._cache[mint] = symbol
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
