"""The moving-window request limit, in memory and shared through a real Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio

from walletdoctor.security import LimitStoreUnavailable, RateLimiter, connect_redis

LimiterFactory = Callable[..., RateLimiter]


@pytest.fixture
async def limiters() -> AsyncIterator[list[RateLimiter]]:
    """Limiters a test creates, closed after it."""
    created: list[RateLimiter] = []
    yield created
    for limiter in created:
        await limiter.aclose()


@pytest.fixture(params=["memory", "redis"])
def make_limiter(request: pytest.FixtureRequest, limiters: list[RateLimiter]) -> LimiterFactory:
    """A factory of limiters of one kind (memory or Redis), each with its own storage or pool."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None

    def make(**kwargs: int) -> RateLimiter:
        limiter = RateLimiter.from_redis_url(url, **kwargs) if url else RateLimiter.in_memory(**kwargs)
        limiters.append(limiter)
        return limiter

    return make


async def test_the_51st_request_in_a_minute_is_refused_with_retry_after(make_limiter: LimiterFactory) -> None:
    limiter = make_limiter()
    decisions = [await limiter.check("key:aaaa") for _ in range(51)]
    assert all(d.allowed and d.retry_after_s == 0 for d in decisions[:50])
    refused = decisions[50]
    assert not refused.allowed
    assert 1 <= refused.retry_after_s <= 60
    # Other callers have their own window.
    assert (await limiter.check("key:bbbb")).allowed


async def test_two_limiters_sharing_redis_count_one_window(redis_url: str, limiters: list[RateLimiter]) -> None:
    """Two processes' view: separate limiter instances and pools, one Redis."""
    first = RateLimiter.from_redis_url(redis_url)
    second = RateLimiter.from_redis_url(redis_url)
    limiters += [first, second]
    for i in range(50):
        assert (await (first if i % 2 else second).check("key:shared")).allowed
    assert not (await first.check("key:shared")).allowed
    refused = await second.check("key:shared")
    assert not refused.allowed and refused.retry_after_s >= 1


async def test_a_limiter_on_the_apps_client_shares_the_window(redis_url: str, limiters: list[RateLimiter]) -> None:
    client = connect_redis(redis_url)
    try:
        on_app_pool = RateLimiter.with_redis(client, limit=2)
        own_pool = RateLimiter.from_redis_url(redis_url, limit=2)
        limiters += [on_app_pool, own_pool]
        assert (await on_app_pool.check("ip:10.0.0.1")).allowed
        assert (await own_pool.check("ip:10.0.0.1")).allowed
        assert not (await on_app_pool.check("ip:10.0.0.1")).allowed
        await on_app_pool.aclose()
        assert await client.ping()  # the app's client stays open
    finally:
        await client.aclose()


async def test_retry_after_is_when_the_oldest_hit_leaves_the_window(make_limiter: LimiterFactory) -> None:
    limiter = make_limiter(limit=2, window_s=2)
    assert (await limiter.check("key:w")).allowed
    first_at = time.time()
    await asyncio.sleep(0.5)
    assert (await limiter.check("key:w")).allowed
    refused = await limiter.check("key:w")
    assert not refused.allowed
    # The first hit leaves at first_at + 2, about 1.5 s from now: rounded up to 2.
    assert refused.retry_after_s == 2
    # Refused requests are not counted: waiting out Retry-After is enough.
    for _ in range(5):
        assert not (await limiter.check("key:w")).allowed
    await asyncio.sleep(max(0.0, first_at + 2.05 - time.time()))
    again = await limiter.check("key:w")
    assert again.allowed
    assert not (await limiter.check("key:w")).allowed, "the window is full again"


async def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter.in_memory(limit=0)
    with pytest.raises(ValueError):
        RateLimiter.in_memory(window_s=0)


async def test_redis_down_raises_the_dedicated_error_quickly(down_redis_url: str, limiters: list[RateLimiter]) -> None:
    limiter = RateLimiter.from_redis_url(down_redis_url)
    limiters.append(limiter)
    started = time.monotonic()
    with pytest.raises(LimitStoreUnavailable) as caught:
        await limiter.check("key:down")
    assert time.monotonic() - started < 2.0
    assert caught.value.to_json()["code"] == "UPSTREAM_UNAVAILABLE"
    assert caught.value.headers["Retry-After"].isdigit()
    assert isinstance(caught.value.__cause__, Exception)


async def test_a_slow_store_hits_the_deadline_even_with_a_lenient_client(
    silent_redis_url: str, limiters: list[RateLimiter]
) -> None:
    """A client built without bounded socket timeouts still cannot hold a request past the deadline."""
    lenient = redis.asyncio.Redis.from_url(silent_redis_url)  # redis-py defaults: 5 s per socket op, 10 retries
    try:
        limiter = RateLimiter.with_redis(lenient, timeout_s=0.3)
        limiters.append(limiter)
        started = time.monotonic()
        with pytest.raises(LimitStoreUnavailable):
            await limiter.check("key:slow")
        assert time.monotonic() - started < 1.0
    finally:
        await lenient.aclose()
