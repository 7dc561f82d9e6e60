"""Feeds in Redis: the resume buffer shared by every process, and who produces each feed.

With ``REDIS_URL`` set, every event of a feed is written to Redis before any
reader sees it, so a client whose process died (or was restarted) resumes
on any other process. Keys (all expire ``retention_s`` after their last
refresh, so an ended stream can be resumed that long)::

    wd:stream:{stream_id}      -> feed id
    wd:feed:{feed_id}          hash: params, started_at, next_seq, final_seq, checkpoint
    wd:feed:{feed_id}:events   Redis stream, entry id 0-{seq}; fields n (name), b (body), t (trades)
    wd:feed:{feed_id}:owner    id of the process producing the feed; a lease (PX owner_ttl)

The events stream is capped at ``max_events`` (approximate ``MAXLEN``); a
resume from before what it still holds is answered ``STREAM_EXPIRED``.

Only the lease holder appends. It renews the lease while it produces and
drops it when it stops; a process that dies stops renewing, and the lease
expires after ``owner_ttl_s``, after which another process may claim the
feed and continue it from its checkpoint. Entry ids are explicit
(``0-{seq}``), so Redis itself refuses a second writer at a position
already taken.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from walletdoctor.shielded import shielded_method
from walletdoctor.sse.event import EncodedEvent, EventName
from walletdoctor.streams.feed import Checkpoint, Feed, FeedLost
from walletdoctor.streams.params import StreamParams

__all__ = ["FeedRecord", "RedisFeedStore"]

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
# Append only while this process holds the lease (fencing a producer that
# lost it); re-take a lease that merely expired. XADD comes first, so a
# refused position (``0-{seq}`` not above the last) changes nothing.
_APPEND = """
local owner = redis.call('get', KEYS[1])
if owner == false then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[11])
elseif owner ~= ARGV[1] then
  return 0
end
redis.call('xadd', KEYS[2], 'MAXLEN', '~', ARGV[6], ARGV[2], 'n', ARGV[3], 'b', ARGV[4], 't', ARGV[5])
redis.call('hset', KEYS[3], 'next_seq', ARGV[7])
if ARGV[8] ~= '' then redis.call('hset', KEYS[3], 'checkpoint', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('hset', KEYS[3], 'final_seq', ARGV[9]) end
redis.call('pexpire', KEYS[3], ARGV[10])
redis.call('pexpire', KEYS[2], ARGV[10])
return 1
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """What Redis knows of a feed.

    Attributes:
        feed_id: the feed.
        params: the request its streams made.
        started_at: unix seconds when it started.
        next_seq: position the next event will take.
        final_seq: position of its final event, ``None`` while it runs.
        checkpoint: the trades published so far.
        owner: id of the process producing it, ``None`` when nobody does.
    """

    feed_id: str
    params: StreamParams
    started_at: float
    next_seq: int
    final_seq: int | None
    checkpoint: Checkpoint
    owner: str | None


def _stream_key(stream_id: str) -> str:
    return f"wd:stream:{stream_id}"


def _meta_key(feed_id: str) -> str:
    return f"wd:feed:{feed_id}"


def _events_key(feed_id: str) -> str:
    return f"wd:feed:{feed_id}:events"


def _owner_key(feed_id: str) -> str:
    return f"wd:feed:{feed_id}:owner"


class RedisFeedStore:
    """Feeds, their events and their producers' leases in Redis; see the module docstring.

    Args:
        redis: the process's pool (``decode_responses`` off).
        instance_id: this process's id, unique across processes and restarts.
        retention_s: how long an ended stream stays resumable, seconds.
        owner_ttl_s: lease of a producing process, seconds; another process may
            take a feed over this long after its producer died.
        max_events: most events kept per feed.

    Every method raises ``redis.exceptions.RedisError`` (or ``TimeoutError``)
    when Redis fails, except :meth:`append`, which logs and stops mirroring
    that feed instead: a stream outlives a Redis outage, it only loses the
    ability to resume elsewhere. Every method's commands run
    :func:`~walletdoctor.shielded.shielded`: a cancelled caller stops
    waiting at once and never leaves a command half sent.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        instance_id: str,
        retention_s: float,
        owner_ttl_s: float,
        max_events: int,
    ) -> None:
        self._redis = redis
        self.instance_id = instance_id
        self._retention_ms = max(1000, int(retention_s * 1000))
        self._owner_ttl_ms = max(100, int(owner_ttl_s * 1000))
        self._max_events = max_events
        self._append = redis.register_script(_APPEND)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    @property
    def owner_ttl_s(self) -> float:
        """The producers' lease, seconds."""
        return self._owner_ttl_ms / 1000

    @shielded_method
    async def create(self, feed: Feed, stream_id: str) -> None:
        """Record a new feed, owned by this process, and its first stream."""
        meta = {
            "params": orjson.dumps(feed.params.to_json()),
            "started_at": repr(feed.started_at),
            "next_seq": feed.next_seq,
            "checkpoint": orjson.dumps(feed.checkpoint.to_json()),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(_meta_key(feed.feed_id), mapping=meta)  # type: ignore[arg-type]
            pipe.pexpire(_meta_key(feed.feed_id), self._retention_ms)
            pipe.set(_owner_key(feed.feed_id), self.instance_id, px=self._owner_ttl_ms)
            pipe.set(_stream_key(stream_id), feed.feed_id, px=self._retention_ms)
            await pipe.execute()

    @shielded_method
    async def add_stream(self, stream_id: str, feed_id: str) -> None:
        """Record that ``stream_id`` reads ``feed_id``."""
        await self._redis.set(_stream_key(stream_id), feed_id, px=self._retention_ms)

    @shielded_method
    async def append(self, feed: Feed, event: EncodedEvent, checkpoint: Checkpoint | None) -> None:
        """Store ``event`` at its position, with the checkpoint reached (see :class:`FeedMirror`).

        Raises:
            FeedLost: another process holds the feed's lease now.

        On any other failure, logs a warning and detaches itself from ``feed``.
        """
        try:
            stored = await self._append(
                keys=[_owner_key(feed.feed_id), _events_key(feed.feed_id), _meta_key(feed.feed_id)],
                args=[
                    self.instance_id,
                    f"0-{event.seq}",
                    event.name.value,
                    event.body,
                    event.trades,
                    self._max_events,
                    (event.seq or 0) + 1,
                    orjson.dumps(checkpoint.to_json()) if checkpoint is not None else b"",
                    event.seq if event.is_final and event.seq is not None else b"",
                    self._retention_ms,
                    self._owner_ttl_ms,
                ],
            )
        except (RedisError, TimeoutError, OSError) as exc:
            log.warning("feed %s: Redis failed (%s); its streams can no longer resume on another process", feed.feed_id, type(exc).__name__)
            feed.mirror = None
            return
        if not stored:
            raise FeedLost(feed.feed_id)

    @shielded_method
    async def lookup(self, stream_id: str) -> FeedRecord | None:
        """The feed ``stream_id`` reads, or ``None`` when Redis no longer knows the stream."""
        # Replies are bytes: the pool does not decode responses.
        feed_id = cast(bytes | None, await self._redis.get(_stream_key(stream_id)))
        if feed_id is None:
            return None
        return await self._record(feed_id.decode())

    @shielded_method
    async def record(self, feed_id: str) -> FeedRecord | None:
        """What Redis knows of ``feed_id``, or ``None`` when it expired."""
        return await self._record(feed_id)

    async def _record(self, feed_id: str) -> FeedRecord | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(_meta_key(feed_id))
            pipe.get(_owner_key(feed_id))
            meta, owner = await pipe.execute()
        if not meta or b"params" not in meta:
            return None
        final = meta.get(b"final_seq")
        return FeedRecord(
            feed_id=feed_id,
            params=StreamParams.from_json(orjson.loads(meta[b"params"])),
            started_at=float(meta[b"started_at"]),
            next_seq=int(meta[b"next_seq"]),
            final_seq=None if final is None else int(final),
            checkpoint=Checkpoint.from_json(orjson.loads(meta[b"checkpoint"])),
            owner=None if owner is None else owner.decode(),
        )

    @shielded_method
    async def read(self, feed_id: str, after_seq: int, *, count: int = 1000) -> list[EncodedEvent]:
        """Up to ``count`` stored events after position ``after_seq``, oldest first."""
        entries = cast(_Entries, await self._redis.xrange(_events_key(feed_id), min=f"0-{after_seq + 1}", count=count))
        return [_event(entry_id, fields) for entry_id, fields in entries]

    async def read_range(self, feed_id: str, after_seq: int, through_seq: int) -> list[EncodedEvent] | None:
        """Events ``after_seq + 1 .. through_seq`` (a replay), or ``None`` when some
        of them are no longer stored (trimmed or expired)."""
        events: list[EncodedEvent] = []
        position = after_seq
        while position < through_seq:
            chunk = await self.read(feed_id, position)
            if not chunk or chunk[0].seq != position + 1:
                return None
            for event in chunk:
                assert event.seq is not None
                if event.seq > through_seq:
                    return events
                events.append(event)
                position = event.seq
        return events

    @shielded_method
    async def oldest_seq(self, feed_id: str) -> int | None:
        """Position of the oldest event still stored, ``None`` when none is."""
        entries = cast(_Entries, await self._redis.xrange(_events_key(feed_id), count=1))
        return _seq(entries[0][0]) if entries else None

    @shielded_method
    async def claim(self, feed_id: str) -> bool:
        """Become the feed's producer if nobody is; True when this process now owns it."""
        return bool(await self._redis.set(_owner_key(feed_id), self.instance_id, nx=True, px=self._owner_ttl_ms))

    @shielded_method
    async def renew(self, feed_ids: Iterable[str]) -> list[str]:
        """Extend this process's leases on ``feed_ids``; returns the feeds it no longer owns."""
        ids = list(feed_ids)
        lost = []
        for feed_id in ids:
            renewed = await self._renew(keys=[_owner_key(feed_id)], args=[self.instance_id, self._owner_ttl_ms])
            if not renewed:
                lost.append(feed_id)
        if ids:
            async with self._redis.pipeline(transaction=False) as pipe:
                for feed_id in ids:
                    pipe.pexpire(_meta_key(feed_id), self._retention_ms)
                    pipe.pexpire(_events_key(feed_id), self._retention_ms)
                await pipe.execute()
        return lost

    @shielded_method
    async def release(self, feed_id: str) -> None:
        """Stop owning ``feed_id`` (another process may continue it at once)."""
        await self._release(keys=[_owner_key(feed_id)], args=[self.instance_id])

    @shielded_method
    async def refresh_streams(self, stream_ids: Iterable[str]) -> None:
        """Keep ``stream_ids`` resumable for another ``retention_s``."""
        ids = list(stream_ids)
        if not ids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for stream_id in ids:
                pipe.pexpire(_stream_key(stream_id), self._retention_ms)
            await pipe.execute()


#: ``XRANGE`` entries as the undecoding pool returns them.
_Entries = list[tuple[bytes, dict[bytes, bytes]]]


def _seq(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[1])


def _event(entry_id: bytes, fields: dict[bytes, bytes]) -> EncodedEvent:
    return EncodedEvent(EventName(fields[b"n"].decode()), fields[b"b"], _seq(entry_id), int(fields.get(b"t", 0)))
