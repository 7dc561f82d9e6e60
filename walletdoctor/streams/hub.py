"""The hub: every feed and stream of one process, and the rules that tie them together.

- **Shared fetches (single flight).** A new stream joins the running feed
  of the same wallet and parameters when there is one, and reads it from
  its first event at its own pace; otherwise it starts a feed. One fetch
  serves them all.
- **Cancellation.** When a feed's last reader leaves, its producer is
  cancelled at once with every upstream request under it. The feed and its
  events stay for ``retention_s``.
- **Resume.** A reconnect with ``Last-Event-ID`` (``<stream_id>:<seq>``)
  reads its stream's feed from after ``seq``: replayed events first, then
  live ones. A feed whose producer was cancelled (or whose process died,
  with Redis) is continued from its checkpoint by a new producer.
- **Shutdown.** Every open connection is ended with a retryable
  ``SHUTTING_DOWN``; producers stop and give their feeds up, so that
  another process can continue them at once.

With a :class:`~walletdoctor.streams.mirror.RedisFeedStore`, feeds outlive
the process: a stream whose feed this process does not have is looked up
in Redis, then tailed (its producer lives elsewhere) or taken over (its
producer died).

Timeline of a resume on another process (Redis)::

    A: produce feed F ── events 2..40 to Redis ── killed
    client: Last-Event-ID S:31 ──► B
    B: lookup S -> F; lease of A still held ─► tail F from Redis (32..40)
       lease expires ─► claim F ─► new producer continues after checkpoint
       ─► events 41.. appended by B
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from walletdoctor.errors import ErrorCode, StreamFailure
from walletdoctor.ids import IdSource
from walletdoctor.sse.event import EncodedEvent, EventName, encode_retry
from walletdoctor.streams.feed import FIRST_FEED_SEQ, Feed, FeedLost
from walletdoctor.streams.mirror import FeedRecord, RedisFeedStore
from walletdoctor.streams.params import StreamParams
from walletdoctor.streams.remote import RemoteFeed
from walletdoctor.streams.subscription import EmptySource, Subscription

__all__ = ["FeedHub", "HubSettings", "ProducerFactory", "ResumeRefused"]

log = logging.getLogger(__name__)

#: Makes the producer of a feed: it appends events until a final one,
#: continuing after ``feed.checkpoint`` when the feed already has events.
ProducerFactory = Callable[[Feed], Coroutine[Any, Any, None]]

#: How often stream ids of retained feeds are kept alive in Redis, seconds.
_STREAM_REFRESH_S = 60.0
#: When a feed due to be forgotten still has a producer stopping, seconds until the next look.
_STOPPING_RECHECK_S = 1.0


class ResumeRefused(enum.Enum):
    """Why a ``Last-Event-ID`` cannot be continued."""

    #: Unknown stream, expired, or older than what is kept: say ``STREAM_EXPIRED``.
    EXPIRED = "expired"
    #: The client already has the stream's final event: HTTP 204, nothing to resume.
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class HubSettings:
    """Tunables of the hub (defaults in :class:`walletdoctor.config.Settings`).

    Attributes:
        retention_s: how long a stream stays resumable after its feed stops, seconds.
        budget_bytes: most event bytes a feed keeps in memory.
        lookahead: events a feed's producer may run ahead of its fastest reader.
        idle_bytes: most event bytes of all the feeds nobody reads now, kept for
            resume; past it the oldest are forgotten before their time (with
            Redis, their streams still resume from there).
    """

    retention_s: float
    budget_bytes: int
    lookahead: int
    idle_bytes: int = 256 * 1024 * 1024


class FeedHub:
    """The process's feeds and streams; see the module docstring.

    Args:
        produce: makes each feed's producer (the fetch pipeline).
        settings: retention, memory budget and lookahead.
        store: the Redis feed store, or ``None`` to keep everything in this process.
    """

    def __init__(self, produce: ProducerFactory, settings: HubSettings, *, store: RedisFeedStore | None = None) -> None:
        self._produce = produce
        self._settings = settings
        self._store = store
        #: Feeds new streams may join, by request.
        self._joinable: dict[StreamParams, Feed] = {}
        self._feeds: dict[str, Feed] = {}
        self._streams: dict[str, str] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._remote: dict[str, RemoteFeed] = {}
        self._open: set[Subscription] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._ids = IdSource()
        self._keeper: asyncio.Task[None] | None = None
        self.closing = False

    def __len__(self) -> int:
        """Open connections."""
        return len(self._open)

    @property
    def feeds(self) -> int:
        """Feeds this process holds (running or retained)."""
        return len(self._feeds)

    @property
    def producing(self) -> int:
        """Feeds whose producer runs in this process now."""
        return sum(1 for feed in self._feeds.values() if _running(feed))

    def joinable_feed(self, params: StreamParams) -> Feed | None:
        """The running feed a new stream of ``params`` would share, if any.

        Only a feed whose fetch is running is shared: its history ends where
        that fetch began, moments ago; a stopped feed may be minutes old.
        """
        feed = self._joinable.get(params)
        starting = feed is not None and feed.producer is None
        return feed if feed is not None and feed.joinable and (starting or _running(feed)) else None

    async def open(self, params: StreamParams) -> Subscription:
        """A new stream of ``params``: a subscription from the feed's first event.

        With Redis down, the stream still runs; it only cannot be resumed on
        another process (logged).
        """
        stream_id = self._ids.new_id()
        feed = self.joinable_feed(params)
        created = feed is None
        if feed is None:
            feed = self._new_feed(params)
        if feed.mirror is not None and self._store is not None:
            try:
                if created:
                    await self._store.create(feed, stream_id)
                else:
                    await self._store.add_stream(stream_id, feed.feed_id)
            except (RedisError, TimeoutError, OSError) as exc:
                log.warning("Redis failed (%s): stream %s cannot resume on another process", type(exc).__name__, stream_id)
                if created:
                    feed.mirror = None
        self._streams[stream_id] = feed.feed_id
        feed.stream_ids.add(stream_id)
        subscription = Subscription(stream_id, params, feed, position=FIRST_FEED_SEQ - 1)
        await self._opened(subscription, feed)
        return subscription

    async def resume(self, stream_id: str, seq: int, wallet: str) -> Subscription | ResumeRefused:
        """Continue stream ``stream_id`` after position ``seq`` (its client's ``Last-Event-ID``).

        Returns the subscription, or why it cannot be resumed. ``wallet`` must
        be the stream's (a reconnect to another wallet's URL is refused as expired).

        Raises:
            redis.exceptions.RedisError, TimeoutError: Redis failed.
        """
        feed_id = self._streams.get(stream_id)
        feed = self._feeds.get(feed_id) if feed_id is not None else None
        if self._store is not None and (feed is None or (feed.final_seq is None and not _running(feed))):
            # Redis knows best: another process may have continued the feed.
            record = await self._store.lookup(stream_id)
            if record is None or record.params.wallet != wallet:
                return ResumeRefused.EXPIRED
            if feed is not None:
                self._forget(feed)
            self._streams[stream_id] = record.feed_id
            return await self._resume_elsewhere(stream_id, seq, record)
        if feed is None or feed.params.wallet != wallet:
            return ResumeRefused.EXPIRED
        if seq < FIRST_FEED_SEQ - 1 or seq >= feed.next_seq:
            return ResumeRefused.EXPIRED
        if feed.final_seq is not None and seq >= feed.final_seq:
            return ResumeRefused.FINISHED
        replay: list[EncodedEvent] = []
        if seq + 1 < feed.first_seq:
            stored = await self._store.read_range(feed.feed_id, seq, feed.first_seq - 1) if self._store is not None else None
            if stored is None:
                return ResumeRefused.EXPIRED
            replay = stored
        feed.stream_ids.add(stream_id)
        subscription = Subscription(stream_id, feed.params, feed, position=seq, resumed=True, replay=replay)
        await self._opened(subscription, feed)
        return subscription

    def refusal(self, params: StreamParams) -> Subscription:
        """A connection with a new stream id and no events, to carry a refusal
        (``STREAM_EXPIRED``) as its only event after ``connected``."""
        subscription = Subscription(self._ids.new_id(), params, EmptySource())
        self._open.add(subscription)
        return subscription

    def close(self, subscription: Subscription) -> None:
        """The connection ended: stop its reading; cancel its feed's producer if it was the last reader."""
        self._open.discard(subscription)
        subscription.close()
        source = subscription.source
        if isinstance(source, Feed) and source.readers == 0:
            if _running(source):
                assert source.producer is not None
                source.producer.cancel()
            self._schedule_expiry(source)
        elif isinstance(source, RemoteFeed) and not source.readers:
            self._remote.pop(source.feed_id, None)

    def shut_down(self, retry_ms: int) -> int:
        """End every open connection with ``SHUTTING_DOWN``; returns how many were told.

        Each gets a ``retry:`` drawn from ``retry_ms`` .. 2 x ``retry_ms``
        (Mercure's randomised deadline: thousands of clients do not all
        reconnect in the same instant).
        """
        self.closing = True
        failure = StreamFailure(ErrorCode.SHUTTING_DOWN, "the server is restarting; reconnect to continue")
        for subscription in list(self._open):
            event = subscription.final_event(EventName.ERROR, failure.to_json())
            retry = encode_retry(random.randint(retry_ms, 2 * retry_ms))
            subscription.interrupt(EncodedEvent(event.name, retry + event.body, event.seq))
        return len(self._open)

    def start(self) -> None:
        """Start the background work (lease renewals with Redis). Call inside the loop."""
        if self._store is not None and self._keeper is None:
            self._keeper = asyncio.create_task(self._keep(self._store), name="feed-hub-keeper")

    async def aclose(self) -> None:
        """Stop every producer and tail; give owned feeds up in Redis."""
        self.closing = True
        tasks = [feed.producer for feed in self._feeds.values() if feed.producer is not None and not feed.producer.done()]
        for task in tasks:
            task.cancel()
        if self._keeper is not None:
            self._keeper.cancel()
            tasks.append(self._keeper)
        for remote in self._remote.values():
            await remote.close()
        tasks.extend(self._background)
        for task in self._background:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for handle in self._expiry.values():
            handle.cancel()
        self._expiry.clear()

    # -- internals ---------------------------------------------------------

    def _new_feed(self, params: StreamParams, record: FeedRecord | None = None) -> Feed:
        settings = self._settings
        if record is None:
            feed = Feed(self._ids.new_id(), params, budget_bytes=settings.budget_bytes, lookahead=settings.lookahead, mirror=self._store)
            self._joinable[params] = feed
        else:
            feed = Feed(
                record.feed_id,
                record.params,
                budget_bytes=settings.budget_bytes,
                lookahead=settings.lookahead,
                mirror=self._store,
                next_seq=record.next_seq,
                checkpoint=record.checkpoint,
                started_at=record.started_at,
            )
        self._feeds[feed.feed_id] = feed
        return feed

    async def _opened(self, subscription: Subscription, feed: Feed) -> None:
        self._open.add(subscription)
        handle = self._expiry.pop(feed.feed_id, None)
        if handle is not None:
            handle.cancel()
        if feed.producer is not None and feed.producer.cancelling():
            # Its last reader just left: let that producer finish stopping first.
            await asyncio.wait([feed.producer])
        if feed.final_seq is None and not _running(feed):
            self._start_producer(feed)

    def _start_producer(self, feed: Feed) -> None:
        feed.producer = asyncio.create_task(self._run_producer(feed), name=f"feed-producer:{feed.feed_id}")

    async def _run_producer(self, feed: Feed) -> None:
        try:
            await self._produce(feed)
        except FeedLost:
            self._lost(feed)
        finally:
            if self._joinable.get(feed.params) is feed and feed.final_seq is not None:
                del self._joinable[feed.params]
            feed.wake_readers()
            if self._store is not None:
                if feed.mirror_write is not None:
                    await asyncio.wait([feed.mirror_write])
                with contextlib.suppress(RedisError, TimeoutError, OSError):
                    await self._store.release(feed.feed_id)

    def _schedule_expiry(self, feed: Feed, delay_s: float | None = None) -> None:
        """Forget ``feed`` (nobody reads it now) after the retention time, or sooner
        when the idle feeds of the process hold more than their memory budget."""
        old = self._expiry.pop(feed.feed_id, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        delay = self._settings.retention_s if delay_s is None else delay_s
        self._expiry[feed.feed_id] = loop.call_later(delay, self._expire, feed)
        idle = [self._feeds[feed_id] for feed_id in self._expiry if feed_id in self._feeds]
        total = sum(each.size_bytes for each in idle)
        for oldest in idle:
            if total <= self._settings.idle_bytes:
                break
            total -= oldest.size_bytes
            self._expire(oldest)

    def _expire(self, feed: Feed) -> None:
        self._expiry.pop(feed.feed_id, None)
        if feed.readers:
            return
        if _running(feed):
            # Its producer is still stopping: look again in a moment.
            self._schedule_expiry(feed, _STOPPING_RECHECK_S)
            return
        self._forget(feed)
        for stream_id in feed.stream_ids:
            if self._streams.get(stream_id) == feed.feed_id:
                del self._streams[stream_id]

    def _forget(self, feed: Feed) -> None:
        """Drop this process's copy of a feed (Redis holds a newer one)."""
        handle = self._expiry.pop(feed.feed_id, None)
        if handle is not None:
            handle.cancel()
        self._feeds.pop(feed.feed_id, None)
        if self._joinable.get(feed.params) is feed:
            del self._joinable[feed.params]

    async def _resume_elsewhere(self, stream_id: str, seq: int, record: FeedRecord) -> Subscription | ResumeRefused:
        """Resume a stream whose feed this process does not hold (Redis only)."""
        assert self._store is not None
        if seq < FIRST_FEED_SEQ - 1 or seq >= record.next_seq:
            return ResumeRefused.EXPIRED
        if record.final_seq is not None and seq >= record.final_seq:
            return ResumeRefused.FINISHED
        oldest = await self._store.oldest_seq(record.feed_id)
        if seq + 1 < record.next_seq and (oldest is None or oldest > seq + 1):
            return ResumeRefused.EXPIRED
        if record.final_seq is None and record.owner is None and await self._store.claim(record.feed_id):
            feed = self._new_feed(record.params, record)
            replay = await self._store.read_range(record.feed_id, seq, record.next_seq - 1)
            if replay is None:
                return ResumeRefused.EXPIRED
            feed.stream_ids.add(stream_id)
            subscription = Subscription(stream_id, record.params, feed, position=seq, resumed=True, replay=replay)
            self._open.add(subscription)
            log.info("feed %s: taken over from a process that stopped", record.feed_id)
            self._start_producer(feed)
            return subscription
        subscription = Subscription(stream_id, record.params, EmptySource(), position=seq, resumed=True)
        self._open.add(subscription)
        self._tail(record.feed_id, [subscription])
        return subscription

    def _tail(self, feed_id: str, readers: list[Subscription]) -> None:
        remote = self._remote.get(feed_id)
        if remote is None:
            assert self._store is not None
            remote = RemoteFeed(self._store, feed_id, min(r.position for r in readers), on_orphaned=self._orphaned)
            self._remote[feed_id] = remote
        for reader in readers:
            reader.switch(remote)

    def _orphaned(self, remote: RemoteFeed) -> None:
        task = asyncio.create_task(self._adopt(remote), name=f"feed-adopt:{remote.feed_id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _adopt(self, remote: RemoteFeed) -> None:
        """Continue here a feed whose producer died while this process tailed it."""
        assert self._store is not None
        try:
            record = await self._store.record(remote.feed_id)
            if record is None:
                self._expire_readers(remote.readers)
                return
            if record.final_seq is not None or not await self._store.claim(record.feed_id):
                remote.resume_tailing()
                return
            feed = self._new_feed(record.params, record)
            for reader in remote.readers:
                replay = await self._store.read_range(record.feed_id, reader.position, record.next_seq - 1)
                if replay is None:
                    self._expire_readers([reader])
                    continue
                feed.stream_ids.add(reader.stream_id)
                reader.switch(feed, replay)
            self._remote.pop(remote.feed_id, None)
            await remote.close()
            log.info("feed %s: taken over from a process that stopped", record.feed_id)
            self._start_producer(feed)
        except (RedisError, TimeoutError, OSError) as exc:
            log.warning("feed %s: could not take it over (%s)", remote.feed_id, type(exc).__name__)
            remote.resume_tailing()
        except Exception:
            # Its readers would wait forever on a feed nobody tails: keep tailing.
            log.exception("feed %s: taking it over failed", remote.feed_id)
            remote.resume_tailing()

    def _lost(self, feed: Feed) -> None:
        """Another process produces ``feed`` now: read it from there."""
        log.warning("feed %s: produced by another process now; reading it from there", feed.feed_id)
        self._forget(feed)
        readers = [r for r in self._open if r.source is feed]
        if readers:
            self._tail(feed.feed_id, readers)

    def _expire_readers(self, readers: list[Subscription]) -> None:
        failure = StreamFailure(ErrorCode.STREAM_EXPIRED, "the stream can no longer be resumed; start a new one")
        for reader in readers:
            reader.interrupt(reader.final_event(EventName.ERROR, failure.to_json()))

    async def _keep(self, store: RedisFeedStore) -> None:
        """Renew this process's leases (a third of their TTL apart) and keep stream ids alive."""
        loop = asyncio.get_running_loop()
        refreshed = loop.time()
        while True:
            await asyncio.sleep(store.owner_ttl_s / 3)
            try:
                owned = [feed for feed in self._feeds.values() if _running(feed)]
                lost = set(await store.renew(feed.feed_id for feed in owned))
                for feed in owned:
                    if feed.feed_id in lost and feed.producer is not None:
                        feed.producer.cancel()
                        self._lost(feed)
                if loop.time() - refreshed >= _STREAM_REFRESH_S:
                    refreshed = loop.time()
                    await store.refresh_streams(self._streams)
            except (RedisError, TimeoutError, OSError) as exc:
                log.warning("renewing feed leases in Redis failed (%s)", type(exc).__name__)


def _running(feed: Feed) -> bool:
    return feed.producer is not None and not feed.producer.done()
