"""The feed: shared events, pacing by the fastest reader, a byte budget."""

from __future__ import annotations

import asyncio

import pytest

from walletdoctor.sse.event import EventName
from walletdoctor.streams.feed import FIRST_FEED_SEQ, Checkpoint, Feed, FeedEvicted
from walletdoctor.streams.params import StreamParams
from walletdoctor.streams.subscription import Subscription

PARAMS = StreamParams(wallet="3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2")


def feed(*, budget_bytes: int = 1 << 20, lookahead: int = 4) -> Feed:
    return Feed("feed-1", PARAMS, budget_bytes=budget_bytes, lookahead=lookahead)


async def test_events_are_numbered_from_two_and_encoded_once_for_every_reader() -> None:
    shared = feed()
    first = await shared.append(EventName.PROGRESS, {"n": 1})
    assert first.seq == FIRST_FEED_SEQ
    a = Subscription("stream-a", PARAMS, shared)
    b = Subscription("stream-b", PARAMS, shared)
    got_a, got_b = await a.next(), await b.next()
    assert got_a is got_b is first, "one encoded event, shared"
    assert got_a.frame("stream-a") != got_b.frame("stream-b")


async def test_the_producer_waits_for_the_fastest_reader_only() -> None:
    shared = feed(lookahead=2)
    fast = Subscription("fast", PARAMS, shared)
    Subscription("slow", PARAMS, shared)  # never reads
    for n in range(2):
        await shared.append(EventName.PROGRESS, {"n": n})
    blocked = asyncio.create_task(shared.append(EventName.PROGRESS, {"n": 2}))
    await asyncio.sleep(0.01)
    assert not blocked.done(), "two unread events for the fastest reader: the producer waits"
    await fast.next()
    await asyncio.wait_for(blocked, 1)
    assert shared.next_seq == FIRST_FEED_SEQ + 3


async def test_a_reader_leaving_frees_the_producer() -> None:
    shared = feed(lookahead=1)
    only = Subscription("only", PARAMS, shared)
    await shared.append(EventName.PROGRESS, {})
    blocked = asyncio.create_task(shared.append(EventName.PROGRESS, {}))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    only.close()
    await asyncio.wait_for(blocked, 1)


async def test_when_the_fastest_reader_leaves_the_next_fastest_paces_the_producer() -> None:
    shared = feed(lookahead=2)
    fast = Subscription("fast", PARAMS, shared)
    slow = Subscription("slow", PARAMS, shared)  # never reads until the fast one left
    for n in range(2):
        await shared.append(EventName.PROGRESS, {"n": n})
        await fast.next()
    fast.close()
    blocked = asyncio.create_task(shared.append(EventName.PROGRESS, {"n": 2}))
    await asyncio.sleep(0.01)
    assert not blocked.done(), "the slow reader, now the fastest, has two unread events"
    await slow.next()
    await asyncio.wait_for(blocked, 1)


async def test_a_waiting_reader_is_woken_by_the_next_append() -> None:
    shared = feed()
    reader = Subscription("r", PARAMS, shared)
    waiting = asyncio.create_task(reader.next())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    event = await shared.append(EventName.TRADES, {"trades": [{}]})
    assert await asyncio.wait_for(waiting, 1) is event
    assert reader.position == event.seq


async def test_the_budget_evicts_the_oldest_events_and_a_reader_behind_them_is_told() -> None:
    shared = feed(budget_bytes=300, lookahead=100)
    behind = Subscription("behind", PARAMS, shared)
    for n in range(10):
        await shared.append(EventName.PROGRESS, {"padding": "x" * 40, "n": n})
    assert shared.first_seq > FIRST_FEED_SEQ
    assert not shared.joinable, "a stream joining now would miss the first events"
    with pytest.raises(FeedEvicted):
        await behind.next()


async def test_the_final_event_ends_the_feed_and_records_the_checkpoint() -> None:
    shared = feed()
    checkpoint = Checkpoint(trades=100, batches=1, last_signature="sig", anchor_slot=7)
    await shared.append(EventName.TRADES, {"trades": []}, checkpoint=checkpoint)
    final = await shared.append(EventName.COMPLETE, {})
    assert shared.final_seq == final.seq and shared.checkpoint == checkpoint
    with pytest.raises(RuntimeError):
        await shared.append(EventName.PROGRESS, {})


def test_checkpoints_survive_json() -> None:
    checkpoint = Checkpoint(trades=1200, batches=12, last_signature="5g5r", anchor_slot=349787167)
    assert Checkpoint.from_json(checkpoint.to_json()) == checkpoint
    assert Checkpoint.from_json({}) == Checkpoint()
