"""Per-caller request rate limit: 50 requests per moving 60-second window (DESIGN section 5).

Built on the ``limits`` library's moving-window strategy
(``limits.aio.strategies.MovingWindowRateLimiter``; limits docs, "Rate
limiting strategies: Moving Window"): every accepted hit is kept with its
time, and a request is accepted while fewer than ``limit`` hits fall in the
last ``window_s`` seconds. Unlike a fixed window it never lets a burst of
2 x ``limit`` through across a window boundary. A refused request is not
recorded, so hammering does not extend a caller's wait.

Storage is injected (STYLE "avoid runtime flags"): in memory for one process
(``limits.aio.storage.MemoryStorage``), or Redis so that every process and
host shares one count (``limits.aio.storage.RedisStorage`` with
``implementation="redispy"``; limits docs, "Storage backends: Redis").
``Retry-After`` comes from the window itself: the oldest hit in the window
leaves it at ``oldest + window_s``, and that is when one request fits again.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis.asyncio
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from walletdoctor.security.store import DEFAULT_STORE_TIMEOUT_S, connect_redis, store_errors

__all__ = ["DEFAULT_RATE_LIMIT", "DEFAULT_RATE_WINDOW_S", "RateDecision", "RateLimiter"]

#: Requests per window per caller (DESIGN section 5: 50 requests/min).
DEFAULT_RATE_LIMIT = 50
#: Length of the moving window, seconds.
DEFAULT_RATE_WINDOW_S = 60
#: Prefix of the limiter's Redis keys, so they sort apart from resume buffers and caches.
_REDIS_KEY_PREFIX = "walletdoctor:ratelimit"


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The answer to one request.

    Attributes:
        allowed: whether the request may proceed (it was counted if so).
        retry_after_s: when refused, whole seconds until one request fits
            again (at least 1); 0 when allowed.
    """

    allowed: bool
    retry_after_s: int


class RateLimiter:
    """A moving-window request limit per caller (an API key's ``key_id``, or an IP).

    Args:
        storage: a ``limits`` async storage with moving-window support.
        limit: requests allowed per window (> 0).
        window_s: window length, whole seconds (> 0).
        timeout_s: deadline of one check against the storage, seconds
            (``None``: none, for storage in this process).
        owned_client: a Redis client to close in :meth:`aclose` (set by
            :meth:`from_redis_url`); a client passed to :meth:`with_redis` is
            the caller's to close.

    Raises:
        ValueError: ``limit`` or ``window_s`` is not positive.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        limit: int = DEFAULT_RATE_LIMIT,
        window_s: int = DEFAULT_RATE_WINDOW_S,
        timeout_s: float | None = DEFAULT_STORE_TIMEOUT_S,
        owned_client: redis.asyncio.Redis | None = None,
    ) -> None:
        if limit <= 0 or window_s <= 0:
            raise ValueError("rate limit and window must be positive")
        self.limit = limit
        self.window_s = window_s
        self._timeout_s = timeout_s
        self._storage = storage
        self._strategy = MovingWindowRateLimiter(storage)
        self._item = RateLimitItemPerSecond(limit, window_s, namespace="requests")
        self._owned_client = owned_client

    @classmethod
    def in_memory(cls, *, limit: int = DEFAULT_RATE_LIMIT, window_s: int = DEFAULT_RATE_WINDOW_S) -> RateLimiter:
        """A limiter counting in this process only (no Redis).

        No deadline: the check does no I/O, and in a connect storm the event
        loop may be busy for longer than any deadline, which would refuse
        requests for nothing (measured: 503s in a 5,000-stream ramp).
        """
        return cls(MemoryStorage(), limit=limit, window_s=window_s, timeout_s=None)

    @classmethod
    def with_redis(
        cls,
        client: redis.asyncio.Redis,
        *,
        limit: int = DEFAULT_RATE_LIMIT,
        window_s: int = DEFAULT_RATE_WINDOW_S,
        timeout_s: float = DEFAULT_STORE_TIMEOUT_S,
    ) -> RateLimiter:
        """A limiter shared through Redis, on the connection pool of ``client`` (the app's).

        Its timeouts are the client's; :func:`~walletdoctor.security.store.connect_redis`
        makes one with bounded waits. :meth:`aclose` leaves ``client`` open.
        """
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix=_REDIS_KEY_PREFIX,
            connection_pool=client.connection_pool,  # type: ignore[arg-type]  # limits types options as scalars
        )
        return cls(storage, limit=limit, window_s=window_s, timeout_s=timeout_s)

    @classmethod
    def from_redis_url(
        cls,
        url: str,
        *,
        limit: int = DEFAULT_RATE_LIMIT,
        window_s: int = DEFAULT_RATE_WINDOW_S,
        timeout_s: float = DEFAULT_STORE_TIMEOUT_S,
    ) -> RateLimiter:
        """A limiter shared through the Redis at ``url`` (``redis://...``), on a pool of its own.

        The pool has bounded socket timeouts (:func:`~walletdoctor.security.store.connect_redis`)
        and is closed by :meth:`aclose`.
        """
        client = connect_redis(url)
        limiter = cls.with_redis(client, limit=limit, window_s=window_s, timeout_s=timeout_s)
        limiter._owned_client = client
        return limiter

    async def check(self, subject: str) -> RateDecision:
        """Count one request of ``subject`` if the window has room, and say whether it may proceed.

        Args:
            subject: who is limited, e.g. ``"key:<key_id>"`` or ``"ip:<address>"``;
                never a raw API key (it becomes part of a Redis key).

        Raises:
            LimitStoreUnavailable: the storage (Redis) failed or missed the
                ``timeout_s`` deadline.
        """
        if self._timeout_s is None:
            # Storage in this process: nothing to fail or to wait for.
            allowed = await self._strategy.hit(self._item, subject)
        else:
            async with store_errors("rate limit check", self._timeout_s):
                allowed = await self._strategy.hit(self._item, subject)
        if allowed:
            # The window's statistics only matter for a refusal (its Retry-After).
            return RateDecision(allowed=True, retry_after_s=0)
        async with store_errors("rate limit check", self._timeout_s):
            stats = await self._strategy.get_window_stats(self._item, subject)
        # stats.reset_time is when the oldest hit leaves the window (limits'
        # moving window: oldest entry + expiry); ceil so the client is never early.
        retry_after_s = max(1, math.ceil(stats.reset_time - time.time()))
        return RateDecision(allowed=False, retry_after_s=retry_after_s)

    async def aclose(self) -> None:
        """Release what the limiter owns: its Redis pool, or the memory storage's expiry task."""
        timer = getattr(self._storage, "timer", None)
        if timer is not None and not timer.done():
            # limits' MemoryStorage schedules a one-shot cleanup task per burst;
            # cancel it so no task outlives the event loop.
            timer.cancel()
        if self._owned_client is not None:
            await self._owned_client.aclose()
            self._owned_client = None
