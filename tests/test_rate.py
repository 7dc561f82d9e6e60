"""The upstream request rate: bursts up to the limit, never past it in any window, priority first."""

from __future__ import annotations

import asyncio
import time

import pytest

from walletdoctor.rate import HIGH_PRIORITY, NORMAL_PRIORITY, Priority, RequestRate

WINDOW_S = 0.2


def _most_in_a_window(times: list[float], window_s: float) -> int:
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + window_s) for start in times)


async def test_a_burst_up_to_the_limit_leaves_at_once_and_no_window_sees_more() -> None:
    rate = RequestRate(5, WINDOW_S, margin_s=0.0)
    started = time.monotonic()
    granted: list[float] = []

    async def request() -> None:
        await rate.acquire()
        granted.append(time.monotonic() - started)

    await asyncio.gather(*(request() for _ in range(12)))
    assert sorted(granted)[4] < 0.05, "the first five go together"
    assert _most_in_a_window(granted, WINDOW_S * 0.999) == 5
    assert sorted(granted)[-1] >= 2 * WINDOW_S * 0.99, "twelve requests need three windows"


async def test_higher_priority_goes_first() -> None:
    rate = RequestRate(1, WINDOW_S, margin_s=0.0)
    await rate.acquire()  # the window is now full
    order: list[str] = []

    async def request(name: str, priority: int) -> None:
        await rate.acquire(priority)
        order.append(name)

    normal = [asyncio.create_task(request(f"parse{n}", NORMAL_PRIORITY)) for n in range(2)]
    await asyncio.sleep(0.01)
    urgent = asyncio.create_task(request("das", HIGH_PRIORITY))
    await asyncio.gather(*normal, urgent)
    assert order == ["das", "parse0", "parse1"]


async def test_a_raised_priority_moves_a_waiting_request_up() -> None:
    rate = RequestRate(1, WINDOW_S, margin_s=0.0)
    await rate.acquire()  # the window is now full
    order: list[str] = []
    later = Priority(NORMAL_PRIORITY)

    async def request(name: str, priority: int | Priority) -> None:
        await rate.acquire(priority)
        order.append(name)

    first = asyncio.create_task(request("prefetch0", NORMAL_PRIORITY))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(request("prefetch1", later))
    await asyncio.sleep(0.01)
    later.raise_to(HIGH_PRIORITY)  # a stream now waits for it
    later.raise_to(NORMAL_PRIORITY)  # never lowered
    await asyncio.gather(first, second)
    assert order == ["prefetch1", "prefetch0"]


async def test_a_slot_counts_from_the_end_of_its_request() -> None:
    rate = RequestRate(1, WINDOW_S, margin_s=0.0)
    started = time.monotonic()
    async with rate.slot():
        await asyncio.sleep(WINDOW_S)  # a slow answer
    async with rate.slot():
        second = time.monotonic() - started
    assert second >= 2 * WINDOW_S * 0.99, "the next waits a window after the first ended, not after it left"


async def test_a_cancelled_waiter_gives_its_place_up() -> None:
    rate = RequestRate(1, WINDOW_S, margin_s=0.0)
    await rate.acquire()
    gone = asyncio.create_task(rate.acquire())
    await asyncio.sleep(0.01)
    gone.cancel()
    started = time.monotonic()
    await asyncio.wait_for(rate.acquire(), 1)
    assert time.monotonic() - started < 1.5 * WINDOW_S


def test_fractional_rates_and_bad_arguments() -> None:
    slow = RequestRate(0.5)  # one request per two seconds
    assert slow._capacity == 1 and slow._window_s == pytest.approx(2.0, abs=0.05)
    with pytest.raises(ValueError):
        RequestRate(0)


async def test_reserved_places_are_left_for_high_priority_requests() -> None:
    rate = RequestRate(4, WINDOW_S, margin_s=0.0, reserve=1)
    for _ in range(3):
        await rate.acquire()
    # The fourth place of this window is kept: a parse request waits for the next one...
    parse = asyncio.create_task(rate.acquire(NORMAL_PRIORITY))
    await asyncio.sleep(0.02)
    assert not parse.done()
    # ...and a look-up asked for later still goes at once.
    await asyncio.wait_for(rate.acquire(HIGH_PRIORITY), 0.02)
    await asyncio.wait_for(parse, 2 * WINDOW_S)


def test_the_reserve_must_leave_room_for_normal_requests() -> None:
    with pytest.raises(ValueError):
        RequestRate(4, reserve=4)
    with pytest.raises(ValueError):
        RequestRate(4, reserve=-1)
