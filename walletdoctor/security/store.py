"""The shared-state store (Redis) as the security layer uses it: bounded waits, one error.

Rate limits and stream leases live in Redis when ``REDIS_URL`` is set, so
every process and host shares them (DESIGN section 5). A request must never
hang on that store: each operation runs under a deadline, and every failure
(refused or reset connection, socket timeout, deadline, Redis error) becomes
one :class:`~walletdoctor.security.errors.LimitStoreUnavailable`, raised
``from`` the original (httpx's ``map_httpcore_exceptions`` pattern, STYLE 3).

Why the client's own retry policy is cut down in :func:`connect_redis`:
redis-py 8 retries a failed command 10 times with exponential backoff capped
at 1 s and waits 5 s per socket operation by default, which would hold a
request for tens of seconds against an unreachable host. One immediate
retry still rides over a pooled connection that a Redis restart closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import limits.errors
import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from walletdoctor.security.errors import LimitStoreUnavailable

__all__ = ["DEFAULT_STORE_SOCKET_TIMEOUT_S", "DEFAULT_STORE_TIMEOUT_S", "connect_redis", "store_errors"]

log = logging.getLogger(__name__)

#: Deadline of one rate-limit check or lease operation, seconds. Redis answers
#: these in well under a millisecond on a LAN; a second means it is in trouble.
DEFAULT_STORE_TIMEOUT_S = 1.0
#: Connect and read timeout of each socket operation, seconds (redis-py default: 5).
DEFAULT_STORE_SOCKET_TIMEOUT_S = 0.5

_STORE_FAILURES = (redis.exceptions.RedisError, limits.errors.StorageError, OSError, TimeoutError)


def connect_redis(
    url: str, *, socket_timeout_s: float = DEFAULT_STORE_SOCKET_TIMEOUT_S, max_connections: int | None = None
) -> redis.asyncio.Redis:
    """A ``redis.asyncio`` client (one connection pool) with bounded waits, for the app to share.

    Connects lazily: creating it does no I/O, the first command does.
    Close it with ``await client.aclose()``.

    Args:
        url: ``redis://[[user]:password@]host:port/db`` or ``rediss://...``. It may
            hold a password: never log it.
        socket_timeout_s: connect timeout and per-read timeout, seconds.
        max_connections: bound of the pool (redis-py's default when ``None``).
    """
    return redis.asyncio.Redis.from_url(
        url,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=socket_timeout_s,
        retry=Retry(NoBackoff(), 1),
        max_connections=max_connections,
    )


@asynccontextmanager
async def store_errors(operation: str, timeout_s: float | None = DEFAULT_STORE_TIMEOUT_S) -> AsyncIterator[None]:
    """Run the body under a ``timeout_s``-second deadline; turn store failures into one error.

    Args:
        operation: what the body does, safe to show a client (``"rate limit check"``).
        timeout_s: the deadline, seconds (``None``: none).

    Raises:
        LimitStoreUnavailable: the body raised a Redis, ``limits`` storage or
            socket error, or missed the deadline. The original is ``__cause__``.
    """
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except _STORE_FAILURES as exc:
        # The exception's type only: redis-py's messages can name hosts, and a
        # URL with credentials must never reach a log line.
        log.warning("%s failed: shared state store unavailable (%s)", operation, type(exc).__name__)
        raise LimitStoreUnavailable(operation) from exc
