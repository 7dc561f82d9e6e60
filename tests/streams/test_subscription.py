"""A subscription: replay before live events, interruptions, ids that never move backwards or skip."""

from __future__ import annotations

import asyncio

import orjson

from walletdoctor.sse.event import EventName, encode_event
from walletdoctor.streams.feed import Feed
from walletdoctor.streams.params import StreamParams
from walletdoctor.streams.subscription import Subscription

PARAMS = StreamParams(wallet="3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2")


def feed() -> Feed:
    return Feed("feed-1", PARAMS, budget_bytes=1 << 20, lookahead=8, next_seq=5)


async def test_replayed_events_come_first_then_the_feed_s_own() -> None:
    live = feed()
    await live.append(EventName.PROGRESS, {"n": 5})
    replay = [encode_event(EventName.PROGRESS, {"n": n}, n) for n in (3, 4)]
    reader = Subscription("s", PARAMS, live, position=2, resumed=True, replay=replay)
    assert [(await reader.next()).seq for _ in range(3)] == [3, 4, 5]


async def test_an_interruption_jumps_ahead_and_keeps_the_position() -> None:
    live = feed()
    await live.append(EventName.PROGRESS, {})
    reader = Subscription("s", PARAMS, live, position=4)
    waiting = asyncio.create_task(reader.next())
    assert (await waiting).seq == 5
    blocked = asyncio.create_task(reader.next())
    await asyncio.sleep(0.01)
    reader.interrupt(reader.final_event(EventName.ERROR, {"code": "SHUTTING_DOWN"}))
    event = await asyncio.wait_for(blocked, 1)
    assert event.name is EventName.ERROR and event.seq == 5, "the id repeats the last event the client got"
    assert reader.interrupted


def test_a_resumed_connected_repeats_the_position_it_resumes_from() -> None:
    reader = Subscription("stream", PARAMS, feed(), position=4, resumed=True)
    connected = reader.connected_event()
    assert connected.frame("stream").startswith(b"id: stream:4\n")
    data = orjson.loads(connected.body.split(b"data: ")[1])
    assert data["resumed"] is True and data["stream_id"] == "stream" and data["wallet"] == PARAMS.wallet


async def test_switching_source_keeps_the_position_and_replays_what_the_new_source_lacks() -> None:
    old, new = feed(), Feed("feed-1", PARAMS, budget_bytes=1 << 20, lookahead=8, next_seq=8)
    await new.append(EventName.PROGRESS, {"n": 8})
    reader = Subscription("s", PARAMS, old, position=5)
    reader.switch(new, [encode_event(EventName.PROGRESS, {}, n) for n in (5, 6, 7)])
    assert old.readers == 0 and new.readers == 1
    assert [(await reader.next()).seq for _ in range(3)] == [6, 7, 8]
