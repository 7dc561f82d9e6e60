"""Upstream answers that cannot change, kept so that no fetch asks Helius for them twice.

A stream that is continued (its client came back after its fetch was
cancelled, or its process died and another took it over) fetches its
history again; with this cache that costs Helius only what was never
fetched. With Redis the cache is shared by every process; without, it is
a byte-bounded LRU in this process.

Only answers that are final are kept:

- a parsed transaction (``POST /v0/transactions``), by signature: a
  finalized transaction never changes;
- a ``getSignaturesForAddress`` page with a ``before`` cursor: what came
  before a finalized signature never changes (the newest page, without a
  cursor, grows with every new transaction and is never kept);
- a history page (``GET /v0/addresses/{address}/transactions``) with a
  cursor, walking back in time; walking forward (oldest first), only a full
  page (a short one may still grow).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from walletdoctor.config import HistoryVocabulary
from walletdoctor.helius.client import MAX_HISTORY_PAGE, MAX_SIGNATURE_PAGE, HeliusClient, HistoryPage
from walletdoctor.shielded import shielded_method

__all__ = ["CachedHistory", "MemoryCache", "RedisCache", "UpstreamCache"]

log = logging.getLogger(__name__)


class UpstreamCache(Protocol):
    """Bytes by key, each kept for a while. Implementations never raise: a
    failing cache is a cache that misses."""

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The value of each key, ``None`` where absent or expired."""

    async def set_many(self, items: Mapping[str, bytes]) -> None:
        """Keep ``items``."""


class MemoryCache:
    """A least-recently-used cache in this process, bounded in bytes, entries expiring after ``ttl_s``.

    Args:
        budget_bytes: most value bytes kept (0 keeps nothing).
        ttl_s: seconds an entry lives.
    """

    def __init__(self, budget_bytes: int, ttl_s: float) -> None:
        self._budget = budget_bytes
        self._ttl_s = ttl_s
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """See :class:`UpstreamCache`."""
        now = time.monotonic()
        values: list[bytes | None] = []
        for key in keys:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= now:
                if entry is not None:
                    self._drop(key)
                values.append(None)
            else:
                self._entries.move_to_end(key)
                values.append(entry[1])
        return values

    async def set_many(self, items: Mapping[str, bytes]) -> None:
        """See :class:`UpstreamCache`; a value larger than the whole budget is not kept."""
        expires = time.monotonic() + self._ttl_s
        for key, value in items.items():
            if len(value) > self._budget:
                continue
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (expires, value)
            self._bytes += len(value)
        while self._bytes > self._budget:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self._bytes -= len(value)


class RedisCache:
    """The cache in Redis, shared by every process; entries expire after ``ttl_s``.

    Its commands run :func:`~walletdoctor.shielded.shielded`: fetches are
    cancelled when their stream's last client leaves.

    Args:
        redis: the process's pool.
        ttl_s: seconds an entry lives.
    """

    def __init__(self, redis: aioredis.Redis, ttl_s: float) -> None:
        self._redis = redis
        self._ttl_ms = max(1, int(ttl_s * 1000))

    @shielded_method
    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """See :class:`UpstreamCache` (a Redis failure reads as misses)."""
        if not keys:
            return []
        try:
            # Replies are bytes: the pool does not decode responses.
            return cast(list[bytes | None], await self._redis.mget(list(keys)))
        except (RedisError, TimeoutError, OSError) as exc:
            log.warning("upstream cache read failed (%s); asking Helius", type(exc).__name__)
            return [None] * len(keys)

    @shielded_method
    async def set_many(self, items: Mapping[str, bytes]) -> None:
        """See :class:`UpstreamCache` (a Redis failure is logged and ignored)."""
        if not items:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, value in items.items():
                    pipe.set(key, value, px=self._ttl_ms)
                await pipe.execute()
        except (RedisError, TimeoutError, OSError) as exc:
            log.warning("upstream cache write failed (%s)", type(exc).__name__)


class CachedHistory:
    """The history endpoints of :class:`~walletdoctor.helius.client.HeliusClient`, through a cache.

    Same methods, arguments, results and errors as the client's (see there);
    what the module docstring calls final is answered from the cache when
    present and stored there when fetched.
    """

    def __init__(self, client: HeliusClient, cache: UpstreamCache) -> None:
        self._client = client
        self._cache = cache

    async def get_signatures(
        self, address: str, *, before: str | None = None, until: str | None = None, limit: int = MAX_SIGNATURE_PAGE
    ) -> list[dict[str, Any]]:
        """``getSignaturesForAddress``, cached when ``before`` is set."""
        if before is None:
            return await self._client.get_signatures(address, before=before, until=until, limit=limit)
        key = f"wd:up:sigs:{address}:{before}:{until or ''}:{limit}"
        cached = (await self._cache.get_many([key]))[0]
        if cached is not None:
            return list(orjson.loads(cached))
        page = await self._client.get_signatures(address, before=before, until=until, limit=limit)
        await self._cache.set_many({key: orjson.dumps(page)})
        return page

    async def parse_transactions(self, signatures: Sequence[str]) -> list[dict[str, Any]]:
        """``POST /v0/transactions`` for the signatures not cached; cached ones first."""
        keys = [f"wd:up:tx:{signature}" for signature in signatures]
        cached = await self._cache.get_many(keys)
        found = [orjson.loads(value) for value in cached if value is not None]
        missing = [signature for signature, value in zip(signatures, cached, strict=True) if value is None]
        if missing:
            fetched = await self._client.parse_transactions(missing)
            await self._cache.set_many(
                {f"wd:up:tx:{t['signature']}": orjson.dumps(t) for t in fetched if isinstance(t.get("signature"), str)}
            )
            found.extend(fetched)
        return found

    async def address_transactions(
        self,
        address: str,
        *,
        cursor: str | None = None,
        limit: int = MAX_HISTORY_PAGE,
        vocabulary: HistoryVocabulary = HistoryVocabulary.SIGNATURE,
        oldest_first: bool = False,
        transaction_type: str | None = None,
    ) -> HistoryPage:
        """``GET /v0/addresses/{address}/transactions``, cached when the page is final."""
        arguments: dict[str, Any] = {
            "cursor": cursor,
            "limit": limit,
            "vocabulary": vocabulary,
            "oldest_first": oldest_first,
            "transaction_type": transaction_type,
        }
        if cursor is None:
            return await self._client.address_transactions(address, **arguments)
        key = f"wd:up:history:{address}:{cursor}:{limit}:{vocabulary.value}:{int(oldest_first)}:{transaction_type or ''}"
        cached = (await self._cache.get_many([key]))[0]
        if cached is not None:
            data = orjson.loads(cached)
            return HistoryPage(data["transactions"], data["resume_from"])
        page = await self._client.address_transactions(address, **arguments)
        if not oldest_first or len(page.transactions) == limit:
            await self._cache.set_many(
                {key: orjson.dumps({"transactions": page.transactions, "resume_from": page.resume_from})}
            )
        return page
