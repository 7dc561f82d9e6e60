"""Concurrent-stream leases: at most 10 open streams per caller (DESIGN section 5).

A stream holds a lease on one of its caller's slots from before its response
starts until it ends. Two stores, injected by the app:

- :class:`MemoryLeaseStore`: a set of lease ids per caller, for one process
  (a crashed process loses its leases with its memory).
- :class:`RedisLeaseStore`: shared by every process and host. Leases expire,
  so a process that dies (SIGKILL, OOM, lost host) cannot hold a caller's
  slots forever: each caller has a sorted set, member = lease id, score =
  expiry in Redis server milliseconds. One Lua script, atomic on the server,
  drops expired members, counts, and adds or extends the lease if there is
  room. Times come from the Redis server's ``TIME``, never from the hosts,
  so clock skew between hosts cannot expire a live lease early.

Lifecycle of a lease in :meth:`LeaseStore.hold`::

    acquire ──► renew every ttl/3 (background task) ──► release
       │            │  a renewal that finds the lease gone takes it back
       │            │  if a slot is free, else logs that it was lost
       ▼            ▼
    TooManyStreams / LimitStoreUnavailable      (raised before the stream starts)

A stream is never cut because a renewal failed: Redis briefly unreachable
must not end healthy streams. The cost is that the cap is soft for streams
whose lease expired during an outage longer than the TTL and could not be
taken back. If a holder dies, its lease frees itself within ``lease_ttl_s``.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from dataclasses import dataclass

import redis.asyncio

from walletdoctor.ids import IdSource
from walletdoctor.security.errors import LimitStoreUnavailable, TooManyStreams
from walletdoctor.security.store import DEFAULT_STORE_TIMEOUT_S, store_errors

__all__ = [
    "DEFAULT_LEASE_TTL_S",
    "DEFAULT_MAX_STREAMS",
    "DEFAULT_STREAMS_RETRY_AFTER_S",
    "Lease",
    "LeaseHold",
    "LeaseStore",
    "MemoryLeaseStore",
    "RedisLeaseStore",
]

log = logging.getLogger(__name__)

#: Concurrent streams per caller (DESIGN section 5).
DEFAULT_MAX_STREAMS = 10
#: Life of an unrenewed Redis lease, seconds: how long a dead process's
#: streams keep counting against their caller.
DEFAULT_LEASE_TTL_S = 30.0
#: ``Retry-After`` of a ``TOO_MANY_STREAMS`` refusal, seconds. When a slot
#: frees depends on when some other stream ends, which nobody knows; 10 s (the
#: heartbeat period) keeps a polling client at 6 tries a minute, well inside
#: the 50 requests/min rate limit.
DEFAULT_STREAMS_RETRY_AFTER_S = 10

# KEYS[1]: the caller's lease set. ARGV: lease id, max leases, ttl (ms).
# Returns 1 when the lease is now held until server-now + ttl, 0 when the
# caller has no free slot. Used to acquire (a fresh id) and to renew (an id
# already there is extended; one that expired is taken back only if a slot is free).
_CLAIM_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 1
end
return 0
"""

# KEYS[1]: the caller's lease set. Returns the number of unexpired leases.
_COUNT_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""


@dataclass(frozen=True, slots=True)
class Lease:
    """One held stream slot of ``subject`` (``"key:<key_id>"`` or ``"ip:<address>"``)."""

    subject: str
    lease_id: str


class LeaseStore(abc.ABC):
    """Stream slots per caller: acquire, renew, release, and :meth:`hold` tying them together.

    Args:
        max_streams: concurrent leases per subject (> 0).
        retry_after_s: ``Retry-After`` hint of a refusal, whole seconds.

    Raises:
        ValueError: ``max_streams`` is not positive.
    """

    def __init__(self, *, max_streams: int, retry_after_s: int) -> None:
        if max_streams <= 0:
            raise ValueError("max_streams must be positive")
        self.max_streams = max_streams
        self.retry_after_s = retry_after_s
        self._ids = IdSource()

    #: Seconds between renewals while held; ``None`` when leases do not expire.
    renew_interval_s: float | None = None

    @abc.abstractmethod
    async def _claim(self, subject: str, lease_id: str) -> bool:
        """Hold ``lease_id`` (new or existing) if ``subject`` has a free slot or holds it already."""

    @abc.abstractmethod
    async def release(self, lease: Lease) -> None:
        """Give the slot back; releasing twice, or a lease that expired, does nothing.

        Raises:
            LimitStoreUnavailable: the store failed or missed its deadline (Redis only).
        """

    @abc.abstractmethod
    async def active(self, subject: str) -> int:
        """Number of leases ``subject`` holds now (for health and metrics)."""

    async def acquire(self, subject: str) -> Lease:
        """Take one of ``subject``'s slots.

        Raises:
            TooManyStreams: all ``max_streams`` slots are held (429, with ``Retry-After``).
            LimitStoreUnavailable: the store failed or missed its deadline (Redis only).
        """
        lease = Lease(subject, self._ids.new_id())
        if not await self._claim(subject, lease.lease_id):
            raise TooManyStreams(retry_after_s=self.retry_after_s, max_streams=self.max_streams)
        return lease

    async def renew(self, lease: Lease) -> bool:
        """Extend ``lease``; ``False`` when it had expired and no slot was free to take it back.

        Raises:
            LimitStoreUnavailable: the store failed or missed its deadline (Redis only).
        """
        return await self._claim(lease.subject, lease.lease_id)

    def hold(self, subject: str) -> LeaseHold:
        """Hold a slot of ``subject`` for an ``async with`` block: acquire on entry,
        renew in the background (Redis), release on exit.

        Enter it before the stream's response starts, so that a refusal is still
        an HTTP 429. Nothing is raised after entry: renewal failures are logged,
        and a release that fails is left to the lease's expiry.

        Raises (on entry):
            TooManyStreams: every slot is held.
            LimitStoreUnavailable: the store failed or missed its deadline.
        """
        return LeaseHold(self, subject)

    async def renew_forever(self, lease: Lease) -> None:
        """Renew ``lease`` every :attr:`renew_interval_s` until cancelled (failures are logged)."""
        assert self.renew_interval_s is not None
        while True:
            await asyncio.sleep(self.renew_interval_s)
            try:
                if not await self.renew(lease):
                    log.warning("lease %s of %s expired and every slot is taken", lease.lease_id, lease.subject)
            except LimitStoreUnavailable:
                log.warning("lease %s of %s not renewed; trying again", lease.lease_id, lease.subject)


class MemoryLeaseStore(LeaseStore):
    """Leases counted in this process: a set of lease ids per subject. Leases do not expire.

    Args:
        max_streams: concurrent leases per subject.
        retry_after_s: ``Retry-After`` hint of a refusal, whole seconds.
    """

    def __init__(
        self, *, max_streams: int = DEFAULT_MAX_STREAMS, retry_after_s: int = DEFAULT_STREAMS_RETRY_AFTER_S
    ) -> None:
        super().__init__(max_streams=max_streams, retry_after_s=retry_after_s)
        self._held: dict[str, set[str]] = {}

    async def _claim(self, subject: str, lease_id: str) -> bool:
        held = self._held.setdefault(subject, set())
        if lease_id in held or len(held) < self.max_streams:
            held.add(lease_id)
            return True
        return False

    async def release(self, lease: Lease) -> None:
        held = self._held.get(lease.subject)
        if held is None:
            return
        held.discard(lease.lease_id)
        if not held:
            # Drop empty sets so that one-off callers (anonymous IPs) do not accumulate.
            del self._held[lease.subject]

    async def active(self, subject: str) -> int:
        return len(self._held.get(subject, ()))


class RedisLeaseStore(LeaseStore):
    """Expiring leases in Redis, shared by every process and host.

    Args:
        client: the app's ``redis.asyncio`` client (its pool is shared; not closed here).
        max_streams: concurrent leases per subject.
        lease_ttl_s: life of an unrenewed lease, seconds (held leases renew every third of it).
        retry_after_s: ``Retry-After`` hint of a refusal, whole seconds.
        timeout_s: deadline of one store operation, seconds.
        key_prefix: prefix of the per-subject sorted-set keys.

    Raises:
        ValueError: ``max_streams`` or ``lease_ttl_s`` is not positive.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        max_streams: int = DEFAULT_MAX_STREAMS,
        lease_ttl_s: float = DEFAULT_LEASE_TTL_S,
        retry_after_s: int = DEFAULT_STREAMS_RETRY_AFTER_S,
        timeout_s: float = DEFAULT_STORE_TIMEOUT_S,
        key_prefix: str = "walletdoctor:leases:",
    ) -> None:
        super().__init__(max_streams=max_streams, retry_after_s=retry_after_s)
        if lease_ttl_s <= 0:
            raise ValueError("lease_ttl_s must be positive")
        self.lease_ttl_s = lease_ttl_s
        self.renew_interval_s = lease_ttl_s / 3
        self._client = client
        self._timeout_s = timeout_s
        self._key_prefix = key_prefix
        self._claim_script = client.register_script(_CLAIM_SCRIPT)
        self._count_script = client.register_script(_COUNT_SCRIPT)

    def _key(self, subject: str) -> str:
        return self._key_prefix + subject

    async def _claim(self, subject: str, lease_id: str) -> bool:
        ttl_ms = max(1, round(self.lease_ttl_s * 1000))
        async with store_errors("stream lease", self._timeout_s):
            granted = await self._claim_script(keys=[self._key(subject)], args=[lease_id, self.max_streams, ttl_ms])
        return bool(granted)

    async def release(self, lease: Lease) -> None:
        async with store_errors("stream lease release", self._timeout_s):
            await self._client.zrem(self._key(lease.subject), lease.lease_id)

    async def active(self, subject: str) -> int:
        """Number of unexpired leases of ``subject``.

        Raises:
            LimitStoreUnavailable: the store failed or missed its deadline.
        """
        async with store_errors("stream lease count", self._timeout_s):
            return int(await self._count_script(keys=[self._key(subject)]))


class LeaseHold:
    """A slot held for the span of an ``async with`` block (see :meth:`LeaseStore.hold`).

    A class rather than a generator-based context manager: one is entered for
    every stream, and a connect storm enters thousands at once.
    """

    __slots__ = ("_renewer", "_store", "_subject", "lease")

    def __init__(self, store: LeaseStore, subject: str) -> None:
        self._store = store
        self._subject = subject
        self._renewer: asyncio.Task[None] | None = None
        self.lease: Lease | None = None

    async def __aenter__(self) -> Lease:
        store = self._store
        lease = self.lease = await store.acquire(self._subject)
        if store.renew_interval_s is not None:
            self._renewer = asyncio.create_task(store.renew_forever(lease), name=f"lease-renewal {lease.lease_id}")
        return lease

    async def __aexit__(self, *exc_info: object) -> None:
        lease = self.lease
        assert lease is not None
        try:
            if self._renewer is not None:
                # Stop renewing before releasing, or a renewal could re-add the lease.
                self._renewer.cancel()
                await asyncio.wait([self._renewer])
        finally:
            try:
                await self._store.release(lease)
            except LimitStoreUnavailable:
                log.warning("lease %s of %s not released; it expires by itself", lease.lease_id, lease.subject)
