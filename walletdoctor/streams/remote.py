"""A feed another process produces, read here from Redis.

A client may reconnect to a different process than the one producing its
stream's feed (a load balancer does not know about streams). While that
producer is alive, this process tails the feed's events from Redis and
serves them; if the producer's lease runs out (the process died), this
process is told to take the feed over (``on_orphaned``).

Tailing polls ``XRANGE`` every ``poll_s`` instead of blocking in ``XREAD``:
it is the rare path, and polling keeps pooled connections free and every
Redis call short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from walletdoctor.sse.event import EncodedEvent
from walletdoctor.streams.feed import FeedEvicted

if TYPE_CHECKING:
    from walletdoctor.streams.mirror import RedisFeedStore
    from walletdoctor.streams.subscription import Subscription

__all__ = ["DEFAULT_POLL_S", "RemoteFeed"]

log = logging.getLogger(__name__)

DEFAULT_POLL_S = 0.2


class RemoteFeed:
    """An :class:`~walletdoctor.streams.subscription.EventSource` over a feed in Redis.

    Args:
        store: the Redis feed store.
        feed_id: the feed to tail.
        after_seq: the last position already delivered to the first reader.
        on_orphaned: called (once, then tailing stops) with this object when
            the producer's lease is gone before the feed ended, or the feed
            expired from Redis.
        poll_s: seconds between polls when nothing new came.
    """

    def __init__(
        self,
        store: RedisFeedStore,
        feed_id: str,
        after_seq: int,
        *,
        on_orphaned: Callable[[RemoteFeed], None],
        poll_s: float = DEFAULT_POLL_S,
    ) -> None:
        self.feed_id = feed_id
        self.final_seq: int | None = None
        self._store = store
        self._on_orphaned = on_orphaned
        self._poll_s = poll_s
        self._events: dict[int, EncodedEvent] = {}
        self._last_read = after_seq
        self._positions: dict[Subscription, int] = {}
        self._waiting: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def readers(self) -> list[Subscription]:
        """Readers attached now."""
        return list(self._positions)

    def resume_tailing(self) -> None:
        """Tail again after ``on_orphaned`` (another process took the feed over first)."""
        if self._positions and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._tail(), name=f"feed-tail:{self.feed_id}")

    def attach(self, reader: Subscription, position: int) -> None:
        """Count ``reader`` and start tailing (from its position, if it is behind the others)."""
        self._positions[reader] = position
        # Events up to here may have been dropped once every reader had them:
        # read them again for this one.
        self._last_read = min(self._last_read, position)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._tail(), name=f"feed-tail:{self.feed_id}")

    def detach(self, reader: Subscription) -> None:
        """Forget ``reader``; stop tailing after the last one."""
        self._positions.pop(reader, None)
        self._waiting.discard(reader)
        self._drop_read()
        if not self._positions and self._task is not None:
            self._task.cancel()

    def advance(self, reader: Subscription, position: int) -> None:
        """``reader`` has every event up to ``position``."""
        if reader in self._positions:
            self._positions[reader] = position
            self._drop_read()

    def get(self, seq: int) -> EncodedEvent | None:
        """Event ``seq`` once polled, else ``None``.

        Raises:
            FeedEvicted: ``seq`` was read and dropped (no reader needed it then).
        """
        event = self._events.get(seq)
        if event is None and seq <= self._last_read:
            raise FeedEvicted(seq)
        return event

    def wait(self, reader: Subscription) -> None:
        """Wake ``reader`` at the next poll that brings something."""
        self._waiting.add(reader)

    def unwait(self, reader: Subscription) -> None:
        """Cancel :meth:`wait`."""
        self._waiting.discard(reader)

    async def close(self) -> None:
        """Stop tailing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _drop_read(self) -> None:
        if not self._positions:
            return
        low = min(self._positions.values())
        for seq in [s for s in self._events if s <= low]:
            del self._events[seq]

    async def _tail(self) -> None:
        quiet_since = asyncio.get_running_loop().time()
        while self.final_seq is None or self._last_read < self.final_seq:
            try:
                events = await self._store.read(self.feed_id, self._last_read)
                now = asyncio.get_running_loop().time()
                if events:
                    quiet_since = now
                    for event in events:
                        assert event.seq is not None
                        self._events[event.seq] = event
                        self._last_read = event.seq
                        if event.is_final:
                            self.final_seq = event.seq
                    self._wake()
                    continue
                if now - quiet_since >= self._store.owner_ttl_s / 2:
                    quiet_since = now
                    record = await self._store.record(self.feed_id)
                    if record is None or (record.final_seq is None and record.owner is None):
                        # The producer died (or the feed expired); read once
                        # more so that nothing it stored is left behind.
                        if not await self._store.read(self.feed_id, self._last_read, count=1):
                            self._on_orphaned(self)
                            return
            except (RedisError, TimeoutError, OSError) as exc:
                log.warning("feed %s: tailing from Redis failed (%s); retrying", self.feed_id, type(exc).__name__)
            await asyncio.sleep(self._poll_s)

    def _wake(self) -> None:
        waiting, self._waiting = self._waiting, set()
        for reader in waiting:
            reader.wake()
