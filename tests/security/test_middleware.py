"""The ``/v4/`` security middleware on a real aiohttp server: keys, rate limit, stream leases, logs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from walletdoctor.api.errors import response_middleware
from walletdoctor.observability.logging import redact_text
from walletdoctor.security import (
    AUTH_POLICY,
    CALLER,
    STREAM_LEASES,
    AuthPolicy,
    KeyStore,
    LeaseStore,
    MemoryLeaseStore,
    RateLimiter,
    RedisLeaseStore,
    auth_middleware,
    connect_redis,
    create_key,
    key_id,
    stream_lease,
)

ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


async def _echo(request: web.Request) -> web.Response:
    """What a handler behind the middleware sees of the caller and of the key."""
    caller = request[CALLER]
    return web.json_response(
        {
            "key_id": caller.key_id,
            "subject": caller.subject,
            "query": dict(request.query),
            "key_headers": [h for h in ("Authorization", "X-API-Key") if h in request.headers],
            "path_qs": request.path_qs,
        }
    )


async def _stream(request: web.Request) -> web.StreamResponse:
    """A stream that holds a lease until its client leaves."""
    async with stream_lease(request):
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"open\n")
        await asyncio.Event().wait()
    return response


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@pytest.fixture
async def limiters() -> AsyncIterator[list[RateLimiter]]:
    made: list[RateLimiter] = []
    yield made
    for limiter in made:
        await limiter.aclose()


@pytest.fixture
def serve(aiohttp_server: Any, aiohttp_client: Any, limiters: list[RateLimiter]) -> ClientFactory:
    """Start an app guarded by the middleware; returns a test client.

    Keyword arguments: ``hashes`` (accepted key hashes), ``require_keys``,
    ``limiter`` (default: in memory, 50/min), ``leases`` (default: in memory, 10).
    The access log is off, as ``walletdoctor serve`` runs, unless ``access_log=True``.
    """

    async def start(
        *,
        hashes: tuple[str, ...] = (),
        require_keys: bool = True,
        limiter: RateLimiter | None = None,
        leases: LeaseStore | None = None,
        access_log: bool = False,
    ) -> TestClient[web.Request, web.Application]:
        limiter = limiter or RateLimiter.in_memory()
        limiters.append(limiter)
        app = web.Application(middlewares=[response_middleware, auth_middleware])
        app[AUTH_POLICY] = AuthPolicy(keys=KeyStore(hashes), limiter=limiter, require_keys=require_keys)
        app[STREAM_LEASES] = leases or MemoryLeaseStore()
        app.router.add_get("/v4/echo", _echo)
        app.router.add_get("/v4/stream", _stream)
        app.router.add_get("/health", _health)
        server_kwargs = {} if access_log else {"access_log": None}
        server = await aiohttp_server(app, **server_kwargs)
        return await aiohttp_client(server)  # type: ignore[no-any-return]

    return start


def _ways(key: str) -> list[tuple[str, dict[str, str]]]:
    """The three ways of passing a key: (path, headers)."""
    return [
        ("/v4/echo?batch_size=5", {"Authorization": f"Bearer {key}"}),
        ("/v4/echo?batch_size=5", {"X-API-Key": key}),
        (f"/v4/echo?batch_size=5&api_key={key}", {}),
    ]


async def test_each_way_of_passing_a_key_is_accepted_and_hidden_from_the_handler(
    serve: ClientFactory, api_key: tuple[str, str]
) -> None:
    key, line = api_key
    client = await serve(hashes=(line,))
    for path, headers in _ways(key):
        response = await client.get(path, headers=headers)
        assert response.status == 200, path
        seen = await response.json()
        assert seen["key_id"] == key_id(line) and seen["subject"] == f"key:{key_id(line)}"
        assert seen["query"] == {"batch_size": "5"}
        assert seen["key_headers"] == [] and key not in seen["path_qs"]


async def test_a_wrong_key_is_refused_with_401_json(serve: ClientFactory, api_key: tuple[str, str]) -> None:
    _, line = api_key
    wrong, _ = create_key()
    client = await serve(hashes=(line,))
    for path, headers in [*_ways(wrong), ("/v4/echo", {"X-API-Key": "not-a-key"})]:
        response = await client.get(path, headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = await response.text()
        assert wrong not in body
        assert (await response.json()) == {
            "error": "invalid API key",
            "code": "UNAUTHORIZED",
            "retryable": False,
            "details": {"reason": "invalid"},
        }


async def test_no_key_is_refused_when_keys_are_required(serve: ClientFactory, api_key: tuple[str, str]) -> None:
    client = await serve(hashes=(api_key[1],), require_keys=True)
    response = await client.get("/v4/echo")
    assert response.status == 401
    assert (await response.json())["details"] == {"reason": "missing"}
    # Routes outside /v4/ and CORS preflights pass without a key.
    assert (await client.get("/health")).status == 200
    assert (await client.options("/v4/echo")).status != 401


async def test_without_required_keys_anonymous_callers_are_limited_by_ip(
    serve: ClientFactory, api_key: tuple[str, str]
) -> None:
    key, line = api_key
    client = await serve(hashes=(line,), require_keys=False, limiter=RateLimiter.in_memory(limit=3))
    for _ in range(3):
        seen = await (await client.get("/v4/echo")).json()
        assert seen["key_id"] is None and seen["subject"] == "ip:127.0.0.1"
    assert (await client.get("/v4/echo")).status == 429
    # A presented key is still checked, and keyed callers have their own window.
    assert (await client.get("/v4/echo", headers={"X-API-Key": create_key()[0]})).status == 401
    assert (await client.get("/v4/echo", headers={"X-API-Key": key})).status == 200


async def test_the_51st_request_in_a_minute_gets_429_with_retry_after(
    serve: ClientFactory, api_key: tuple[str, str]
) -> None:
    key, line = api_key
    client = await serve(hashes=(line,))
    for _ in range(50):
        assert (await client.get("/v4/echo", headers={"X-API-Key": key})).status == 200
    response = await client.get("/v4/echo", headers={"X-API-Key": key})
    assert response.status == 429
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    body = await response.json()
    assert body["code"] == "RATE_LIMIT" and body["retryable"] is True
    assert body["details"] == {"limit": 50, "window_s": 60, "retry_after_s": retry_after}


async def test_the_11th_concurrent_stream_gets_429_until_one_ends(
    serve: ClientFactory, api_key: tuple[str, str], redis_url: str
) -> None:
    key, line = api_key
    redis = connect_redis(redis_url)
    try:
        client = await serve(hashes=(line,), leases=RedisLeaseStore(redis))
        headers = {"Authorization": f"Bearer {key}"}
        streams = [await client.get("/v4/stream", headers=headers) for _ in range(10)]
        assert [s.status for s in streams] == [200] * 10
        refused = await client.get("/v4/stream", headers=headers)
        assert refused.status == 429 and refused.headers["Retry-After"] == "10"
        assert (await refused.json())["code"] == "TOO_MANY_STREAMS"

        streams.pop().close()  # the client leaves: its handler is cancelled and its lease released
        deadline = time.monotonic() + 5
        while (again := await client.get("/v4/stream", headers=headers)).status != 200:
            assert time.monotonic() < deadline, "the lease of the closed stream was not released"
            await asyncio.sleep(0.05)
        streams.append(again)
        for stream in streams:
            stream.close()
    finally:
        await redis.aclose()


async def test_redis_down_gives_503_quickly_not_a_hang(
    serve: ClientFactory, api_key: tuple[str, str], down_redis_url: str
) -> None:
    key, line = api_key
    redis = connect_redis(down_redis_url)
    try:
        client = await serve(hashes=(line,), limiter=RateLimiter.from_redis_url(down_redis_url))
        started = time.monotonic()
        response = await client.get("/v4/echo", headers={"X-API-Key": key})
        assert time.monotonic() - started < 2.0
        assert response.status == 503 and response.headers["Retry-After"] == "5"
        assert (await response.json())["code"] == "UPSTREAM_UNAVAILABLE"

        leases_down = await serve(hashes=(line,), leases=RedisLeaseStore(redis))
        started = time.monotonic()
        response = await leases_down.get("/v4/stream", headers={"X-API-Key": key})
        assert time.monotonic() - started < 2.0
        assert response.status == 503
    finally:
        await redis.aclose()


async def test_the_raw_key_appears_in_no_log_line(
    serve: ClientFactory, api_key: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """Auth success and failure, all three ways, every logger at DEBUG: only key ids are logged."""
    key, line = api_key
    wrong, wrong_line = create_key()
    caplog.set_level(logging.DEBUG)
    client = await serve(hashes=(line,), limiter=RateLimiter.in_memory(limit=3))
    for path, headers in [*_ways(key), *_ways(wrong)]:
        await client.get(path, headers=headers)
    await client.get("/v4/echo", headers={"X-API-Key": key})  # rate limited
    assert "unknown API key id=" + key_id(wrong_line) in caplog.text
    assert f"rate limited key:{key_id(line)}" in caplog.text
    for secret in (key, wrong):
        assert secret not in caplog.text
        for record in caplog.records:
            assert secret not in record.getMessage()


async def test_a_query_key_in_the_access_log_is_caught_by_log_redaction(
    serve: ClientFactory, api_key: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp's access log writes the query string, ``api_key`` included: ``walletdoctor serve``
    runs without it, and the JSON logs' redaction is the safety net if it is ever turned on."""
    key, line = api_key
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    client = await serve(hashes=(line,), access_log=True)
    await client.get(f"/v4/echo?api_key={key}")
    assert key in caplog.text  # what an unredacted access log would write
    assert key not in redact_text(caplog.text)
