"""Concurrent-stream leases: the cap, release, expiry of a dead holder's leases, renewal, Redis down."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio

from walletdoctor.security import (
    LeaseStore,
    LimitStoreUnavailable,
    MemoryLeaseStore,
    RedisLeaseStore,
    TooManyStreams,
    connect_redis,
)

StoreFactory = Callable[..., LeaseStore]


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[Callable[[], redis.asyncio.Redis]]:
    """Makes Redis clients, each with its own pool (one per simulated process), closed after the test."""
    made: list[redis.asyncio.Redis] = []

    def make() -> redis.asyncio.Redis:
        made.append(connect_redis(redis_url))
        return made[-1]

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest) -> StoreFactory:
    """A factory of lease stores of one kind; Redis stores each get their own client."""
    if request.param == "memory":
        return MemoryLeaseStore
    make_client = request.getfixturevalue("clients")
    return lambda **kwargs: RedisLeaseStore(make_client(), **kwargs)


async def test_the_11th_concurrent_lease_is_refused_until_one_is_released(make_store: StoreFactory) -> None:
    store = make_store()
    leases = [await store.acquire("key:k1") for _ in range(10)]
    assert await store.active("key:k1") == 10
    with pytest.raises(TooManyStreams) as caught:
        await store.acquire("key:k1")
    refusal = caught.value
    assert refusal.code.http_status == 429 and refusal.to_json()["code"] == "TOO_MANY_STREAMS"
    assert refusal.headers == {"Retry-After": "10"}
    assert refusal.to_json()["details"] == {"max_streams": 10, "retry_after_s": 10}
    # Another caller is not affected.
    await store.release(await store.acquire("key:k2"))

    await store.release(leases[0])
    await store.release(leases[0])  # releasing twice changes nothing
    assert await store.active("key:k1") == 9
    leases[0] = await store.acquire("key:k1")
    with pytest.raises(TooManyStreams):
        await store.acquire("key:k1")
    for lease in leases:
        await store.release(lease)
    assert await store.active("key:k1") == 0


async def test_hold_releases_on_exit_and_on_error(make_store: StoreFactory) -> None:
    store = make_store(max_streams=1)
    async with store.hold("ip:10.1.1.1") as lease:
        assert lease.subject == "ip:10.1.1.1"
        with pytest.raises(TooManyStreams):
            async with store.hold("ip:10.1.1.1"):
                pass
    with pytest.raises(RuntimeError):
        async with store.hold("ip:10.1.1.1"):
            raise RuntimeError("the stream failed")
    assert await store.active("ip:10.1.1.1") == 0


async def test_processes_sharing_redis_share_the_cap(clients: Callable[[], redis.asyncio.Redis]) -> None:
    first, second = RedisLeaseStore(clients()), RedisLeaseStore(clients())
    for i in range(10):
        await (first if i % 2 else second).acquire("key:shared")
    with pytest.raises(TooManyStreams):
        await first.acquire("key:shared")
    with pytest.raises(TooManyStreams):
        await second.acquire("key:shared")


async def test_leases_of_a_killed_process_expire_after_the_ttl(clients: Callable[[], redis.asyncio.Redis]) -> None:
    """A process that acquired leases and died (never renewed, never released) frees its slots."""
    killed = RedisLeaseStore(clients(), lease_ttl_s=0.5)
    for _ in range(10):
        await killed.acquire("key:crash")
    survivor = RedisLeaseStore(clients(), lease_ttl_s=0.5)
    with pytest.raises(TooManyStreams):
        await survivor.acquire("key:crash")
    await asyncio.sleep(0.6)
    assert await survivor.active("key:crash") == 0
    await survivor.acquire("key:crash")
    assert await survivor.active("key:crash") == 1


async def test_a_held_lease_is_renewed_past_its_ttl(clients: Callable[[], redis.asyncio.Redis]) -> None:
    store = RedisLeaseStore(clients(), max_streams=1, lease_ttl_s=0.3)
    observer = RedisLeaseStore(clients(), max_streams=1, lease_ttl_s=0.3)
    async with store.hold("key:long"):
        await asyncio.sleep(1.0)  # more than three TTLs
        assert await observer.active("key:long") == 1
        with pytest.raises(TooManyStreams):
            await observer.acquire("key:long")
    assert await observer.active("key:long") == 0


async def test_renewal_takes_back_an_expired_lease_only_if_a_slot_is_free(
    clients: Callable[[], redis.asyncio.Redis],
) -> None:
    store = RedisLeaseStore(clients(), max_streams=1, lease_ttl_s=0.2)
    lease = await store.acquire("key:gap")
    await asyncio.sleep(0.3)  # expired, e.g. Redis was unreachable for a while
    assert await store.renew(lease) is True
    assert await store.active("key:gap") == 1
    await asyncio.sleep(0.3)
    other = await store.acquire("key:gap")  # the slot went to another stream meanwhile
    assert await store.renew(lease) is False
    assert await store.renew(other) is True


async def test_redis_down_raises_the_dedicated_error_quickly(down_redis_url: str) -> None:
    client = connect_redis(down_redis_url)
    try:
        store = RedisLeaseStore(client)
        started = time.monotonic()
        with pytest.raises(LimitStoreUnavailable) as caught:
            async with store.hold("key:down"):
                pytest.fail("a lease was granted without Redis")
        assert time.monotonic() - started < 2.0
        assert caught.value.code.http_status == 503
    finally:
        await client.aclose()


async def test_a_failed_release_is_logged_and_left_to_expiry(
    clients: Callable[[], redis.asyncio.Redis], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisLeaseStore(clients(), lease_ttl_s=0.3)

    async def failing_release(lease: object) -> None:
        raise LimitStoreUnavailable("stream lease release")

    with caplog.at_level(logging.WARNING, logger="walletdoctor.security.leases"):
        async with store.hold("key:orphan"):
            monkeypatch.setattr(store, "release", failing_release)
    assert "expires by itself" in caplog.text
    assert await store.active("key:orphan") == 1
    await asyncio.sleep(0.4)
    assert await store.active("key:orphan") == 0


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        MemoryLeaseStore(max_streams=0)
