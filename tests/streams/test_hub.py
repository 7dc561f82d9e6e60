"""The hub: shared fetches, cancellation, resume, retention, shutdown; with Redis, across hubs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from walletdoctor.sse.event import EncodedEvent, EventName
from walletdoctor.streams.feed import Checkpoint, Feed
from walletdoctor.streams.hub import FeedHub, HubSettings, ResumeRefused
from walletdoctor.streams.mirror import RedisFeedStore
from walletdoctor.streams.params import StreamParams
from walletdoctor.streams.subscription import Subscription

WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"
PARAMS = StreamParams(wallet=WALLET)
SETTINGS = HubSettings(retention_s=60, budget_bytes=1 << 20, lookahead=4)


class Producer:
    """A fake fetch: ``batches`` trades events then ``complete``, each after ``gate`` opens;
    a continued feed starts after its checkpoint, as the real pipeline does."""

    def __init__(self, batches: int = 6) -> None:
        self.batches = batches
        self.started: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, feed: Feed) -> None:
        self.started.append(feed.next_seq)
        for batch in range(feed.checkpoint.batches + 1, self.batches + 1):
            await self.gate.wait()
            checkpoint = Checkpoint(trades=batch, batches=batch, last_signature=f"sig{batch}")
            await feed.append(EventName.TRADES, {"trades": [{"signature": f"sig{batch}"}], "batch_num": batch}, checkpoint=checkpoint)
        await feed.append(EventName.COMPLETE, {"trades_found": self.batches})


async def drain(subscription: Subscription, *, limit: int = 100) -> list[EncodedEvent]:
    events = []
    for _ in range(limit):
        event = await asyncio.wait_for(subscription.next(), 5)
        events.append(event)
        if event.is_final:
            break
    return events


def batches(events: list[EncodedEvent]) -> list[int]:
    return [event.data()["batch_num"] for event in events if event.name is EventName.TRADES]


async def test_streams_of_the_same_request_share_one_fetch_and_others_do_not() -> None:
    producer = Producer()
    producer.gate.clear()
    hub = FeedHub(producer, SETTINGS)
    first, second = await hub.open(PARAMS), await hub.open(PARAMS)
    other = await hub.open(StreamParams(wallet=WALLET, batch_size=10))
    await asyncio.sleep(0)
    assert first.source is second.source is not other.source
    assert first.stream_id != second.stream_id
    assert len(producer.started) == 2
    producer.gate.set()
    assert batches(await drain(first)) == batches(await drain(second)) == [1, 2, 3, 4, 5, 6]
    await hub.aclose()


async def test_a_late_joiner_reads_the_feed_from_its_first_event() -> None:
    producer = Producer()
    hub = FeedHub(producer, SETTINGS)
    early = await hub.open(PARAMS)
    await asyncio.wait_for(early.next(), 1)
    producer.gate.clear()
    late = await hub.open(PARAMS)
    producer.gate.set()
    assert batches(await drain(late)) == [1, 2, 3, 4, 5, 6]
    await hub.aclose()


async def test_the_last_reader_leaving_cancels_the_fetch_and_a_resume_continues_it() -> None:
    producer = Producer()
    hub = FeedHub(producer, SETTINGS)
    stream = await hub.open(PARAMS)
    got = [await asyncio.wait_for(stream.next(), 1) for _ in range(2)]
    producer.gate.clear()
    hub.close(stream)
    feed = stream.source
    assert isinstance(feed, Feed)
    await asyncio.sleep(0.01)
    assert feed.producer is not None and feed.producer.done(), "no reader: the fetch stops at once"
    producer.gate.set()

    resumed = await hub.resume(stream.stream_id, got[-1].seq or 0, WALLET)
    assert isinstance(resumed, Subscription) and resumed.resumed
    rest = await drain(resumed)
    assert batches(got + rest) == [1, 2, 3, 4, 5, 6]
    assert len(producer.started) == 2 and producer.started[1] > producer.started[0], "continued, not restarted"
    await hub.aclose()


async def test_resume_refusals() -> None:
    hub = FeedHub(Producer(batches=1), SETTINGS)
    stream = await hub.open(PARAMS)
    events = await drain(stream)
    hub.close(stream)
    final = events[-1].seq or 0
    assert await hub.resume(stream.stream_id, final, WALLET) is ResumeRefused.FINISHED
    assert await hub.resume(stream.stream_id, final + 5, WALLET) is ResumeRefused.EXPIRED
    assert await hub.resume(str(uuid.uuid4()), 2, WALLET) is ResumeRefused.EXPIRED
    assert await hub.resume(stream.stream_id, 1, "1" * 32) is ResumeRefused.EXPIRED
    await hub.aclose()


async def test_an_ended_stream_expires_after_the_retention_time() -> None:
    hub = FeedHub(Producer(batches=2), HubSettings(retention_s=0.05, budget_bytes=1 << 20, lookahead=4))
    stream = await hub.open(PARAMS)
    first = await asyncio.wait_for(stream.next(), 1)
    hub.close(stream)
    assert isinstance(await hub.resume(stream.stream_id, first.seq or 0, WALLET), Subscription)
    for subscription in list(hub._open):  # the resumed connection leaves too
        hub.close(subscription)
    await asyncio.sleep(0.2)
    assert await hub.resume(stream.stream_id, first.seq or 0, WALLET) is ResumeRefused.EXPIRED
    assert hub.feeds == 0
    await hub.aclose()


async def test_idle_feeds_past_their_memory_budget_are_forgotten_oldest_first() -> None:
    hub = FeedHub(Producer(batches=3), HubSettings(retention_s=60, budget_bytes=1 << 20, lookahead=4, idle_bytes=600))
    streams = []
    for size in (10, 20, 30):  # three requests, three feeds of about 300 bytes each
        stream = await hub.open(StreamParams(wallet=WALLET, batch_size=size))
        await drain(stream)
        hub.close(stream)
        streams.append(stream)
    await asyncio.sleep(0.05)
    assert hub.feeds == 2
    assert await hub.resume(streams[0].stream_id, 2, WALLET) is ResumeRefused.EXPIRED, "the oldest went first"
    assert isinstance(await hub.resume(streams[2].stream_id, 2, WALLET), Subscription)
    await hub.aclose()


async def test_shutdown_interrupts_every_open_connection_with_a_jittered_retry() -> None:
    producer = Producer()
    producer.gate.clear()
    hub = FeedHub(producer, SETTINGS)
    streams = [await hub.open(PARAMS) for _ in range(3)]
    assert hub.shut_down(retry_ms=1000) == 3 and hub.closing
    for stream in streams:
        event = await asyncio.wait_for(stream.next(), 1)
        assert event.name is EventName.ERROR and event.data()["code"] == "SHUTTING_DOWN"
        retry = int(event.body.split(b"\n", 1)[0].removeprefix(b"retry: "))
        assert 1000 <= retry <= 2000
        assert event.seq == stream.position == 1
    await hub.aclose()


# -- across processes, through Redis -------------------------------------------


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


StoreFactory = Callable[..., RedisFeedStore]


@pytest.fixture
def make_store(redis_client: aioredis.Redis) -> StoreFactory:
    def make(**overrides: Any) -> RedisFeedStore:
        options: dict[str, Any] = {"instance_id": uuid.uuid4().hex, "retention_s": 60, "owner_ttl_s": 5, "max_events": 1000}
        options.update(overrides)
        return RedisFeedStore(redis_client, **options)

    return make


async def test_a_stream_stopped_on_one_process_is_continued_by_another(make_store: StoreFactory) -> None:
    first_producer, second_producer = Producer(), Producer()
    first = FeedHub(first_producer, SETTINGS, store=make_store())
    second = FeedHub(second_producer, SETTINGS, store=make_store())
    stream = await first.open(PARAMS)
    got = [await asyncio.wait_for(stream.next(), 1) for _ in range(3)]
    first_producer.gate.clear()
    first.close(stream)
    await asyncio.sleep(0.05)  # the producer stops and gives the feed up

    resumed = await second.resume(stream.stream_id, got[-1].seq or 0, WALLET)
    assert isinstance(resumed, Subscription)
    rest = await drain(resumed)
    assert batches(got + rest) == [1, 2, 3, 4, 5, 6]
    # It continues after what Redis holds: the first producer may have stored
    # one more event while it was being stopped.
    assert len(second_producer.started) == 1 and second_producer.started[0] > (got[-1].seq or 0)
    await first.aclose()
    await second.aclose()


async def test_a_reconnect_elsewhere_tails_a_feed_still_produced(make_store: StoreFactory) -> None:
    producer = Producer()
    first = FeedHub(producer, SETTINGS, store=make_store())
    second = FeedHub(Producer(), SETTINGS, store=make_store())
    keeper = await first.open(PARAMS)
    stream = await first.open(PARAMS)
    got = [await asyncio.wait_for(stream.next(), 1) for _ in range(2)]
    first.close(stream)
    resumed = await second.resume(stream.stream_id, got[-1].seq or 0, WALLET)
    assert isinstance(resumed, Subscription)
    keeper_events = await drain(keeper)
    rest = await drain(resumed)
    assert batches(got + rest) == batches(keeper_events) == [1, 2, 3, 4, 5, 6]
    assert second.producing == 0, "read from Redis, not fetched again"
    await first.aclose()
    await second.aclose()


async def test_a_feed_whose_producer_died_is_taken_over_once_its_lease_expires(make_store: StoreFactory) -> None:
    """A process that dies mid-feed leaves its lease to expire; a tailing process then continues the feed."""
    dead_store = make_store(owner_ttl_s=0.4)
    feed = Feed("dead-feed", PARAMS, budget_bytes=1 << 20, lookahead=4, mirror=dead_store)
    await dead_store.create(feed, "stream-of-the-dead")
    for batch in (1, 2):
        await feed.append(EventName.TRADES, {"trades": [{}], "batch_num": batch}, checkpoint=Checkpoint(batch, batch, f"sig{batch}"))
    # ... and the process dies here: nobody renews or releases its lease.
    producer = Producer()
    survivor = FeedHub(producer, SETTINGS, store=make_store(owner_ttl_s=0.4))
    survivor.start()
    resumed = await survivor.resume("stream-of-the-dead", 1, WALLET)
    assert isinstance(resumed, Subscription)
    events = await drain(resumed)
    assert batches(events) == [1, 2, 3, 4, 5, 6]
    assert producer.started == [4], "continued after the two batches the dead process stored"
    await survivor.aclose()
