"""/health and /ready: their JSON shapes, and /ready turning 503 when a dependency fails."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

import walletdoctor
from walletdoctor.helius.breaker import BreakerState
from walletdoctor.observability import HEALTH_CHECKS, HealthChecks, UpstreamState, health_handler, ready_handler


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _app(checks: HealthChecks) -> web.Application:
    app = web.Application()
    app[HEALTH_CHECKS] = checks
    app.router.add_get("/health", health_handler)
    app.router.add_get("/ready", ready_handler)
    return app


def _checks(
    redis_ping: Callable[[], Awaitable[bool]] | None = None,
    upstream: UpstreamState | str = "embedded emulator",
    **kwargs: Any,
) -> HealthChecks:
    return HealthChecks(active_streams=lambda: 3, upstream_state=lambda: upstream, redis_ping=redis_ping, **kwargs)


async def _pong() -> bool:
    return True


async def test_health_reports_status_version_uptime_streams_and_dependencies(aiohttp_client: Any) -> None:
    clock = Clock()
    checks = _checks(clock=clock)
    clock.now += 12.5
    client = await aiohttp_client(_app(checks))
    response = await client.get("/health")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.json()
    assert body == {
        "status": "ok",
        "version": walletdoctor.__version__,
        "uptime_s": 12.5,
        "active_streams": 3,
        "dependencies": {
            "redis": {"state": "not configured"},
            "upstream": {"state": "ok", "mode": "embedded emulator", "breaker": None},
        },
    }


async def test_health_stays_200_while_a_dependency_is_down(aiohttp_client: Any) -> None:
    async def refused() -> bool:
        raise ConnectionRefusedError("redis://:hunter2@redis:6379 refused")

    client = await aiohttp_client(_app(_checks(refused, UpstreamState("helius", BreakerState.OPEN))))
    response = await client.get("/health")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok"
    assert body["dependencies"]["redis"] == {"state": "down", "error": "ConnectionRefusedError"}
    assert body["dependencies"]["upstream"]["state"] == "down"


async def test_ready_when_redis_answers_and_the_breaker_is_closed(aiohttp_client: Any) -> None:
    client = await aiohttp_client(_app(_checks(_pong, UpstreamState("helius", BreakerState.CLOSED))))
    response = await client.get("/ready")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ready"
    assert body["active_streams"] == 3
    assert body["redis"]["state"] == "ok" and body["redis"]["latency_ms"] >= 0
    assert body["upstream"] == {"state": "ok", "mode": "helius", "breaker": "closed"}


async def test_ready_without_redis_configured(aiohttp_client: Any) -> None:
    client = await aiohttp_client(_app(_checks()))
    response = await client.get("/ready")
    assert response.status == 200
    assert (await response.json())["redis"] == {"state": "not configured"}


async def test_not_ready_when_the_redis_ping_fails(aiohttp_client: Any) -> None:
    async def refused() -> bool:
        raise ConnectionRefusedError("redis://:hunter2@redis:6379 refused")

    client = await aiohttp_client(_app(_checks(refused)))
    response = await client.get("/ready")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "not ready"
    assert body["redis"] == {"state": "down", "error": "ConnectionRefusedError"}
    assert "hunter2" not in await response.text(), "only the error's class is reported"


async def test_not_ready_when_the_redis_ping_hangs(aiohttp_client: Any) -> None:
    async def hangs() -> bool:
        await asyncio.sleep(30)
        return True

    client = await aiohttp_client(_app(_checks(hangs, redis_timeout_s=0.05)))
    response = await client.get("/ready")
    assert response.status == 503
    assert (await response.json())["redis"] == {"state": "down", "error": "TimeoutError"}


async def test_not_ready_when_redis_answers_false(aiohttp_client: Any) -> None:
    async def no() -> bool:
        return False

    client = await aiohttp_client(_app(_checks(no)))
    response = await client.get("/ready")
    assert response.status == 503
    assert (await response.json())["redis"]["state"] == "down"


@pytest.mark.parametrize(("breaker", "status"), [("open", 503), ("half_open", 200), (None, 200)])
async def test_readiness_follows_the_circuit_breaker(aiohttp_client: Any, breaker: str | None, status: int) -> None:
    client = await aiohttp_client(_app(_checks(_pong, UpstreamState("helius", breaker))))
    response = await client.get("/ready")
    assert response.status == status
    assert (await response.json())["upstream"]["breaker"] == breaker


async def test_ready_against_a_real_redis(aiohttp_client: Any, redis_url: str) -> None:
    import redis.asyncio as aioredis

    redis = aioredis.from_url(redis_url)
    try:
        client = await aiohttp_client(_app(_checks(redis.ping)))
        response = await client.get("/ready")
        assert response.status == 200
        assert (await response.json())["redis"]["state"] == "ok"
    finally:
        await redis.aclose()


async def test_not_ready_when_redis_is_unreachable(aiohttp_client: Any, unused_tcp_port: int) -> None:
    import redis.asyncio as aioredis

    redis = aioredis.from_url(f"redis://127.0.0.1:{unused_tcp_port}/0", socket_connect_timeout=0.2)
    try:
        client = await aiohttp_client(_app(_checks(redis.ping)))
        response = await client.get("/ready")
        assert response.status == 503
        assert (await response.json())["redis"] == {"state": "down", "error": "ConnectionError"}
    finally:
        await redis.aclose()


def test_a_timeout_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="redis_timeout_s"):
        _checks(redis_timeout_s=0)
