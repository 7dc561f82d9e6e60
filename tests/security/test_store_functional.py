"""The application's one Redis pool: a clear 503 when Redis is down, never a hang; recovery without
a restart; and the pool opened and closed by the application's cleanup context."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from aiohttp.test_utils import TestServer

from tests.conftest import Emulator, ServerFactory, free_port
from walletdoctor.app import create_app
from walletdoctor.appkeys import UpstreamEndpoints
from walletdoctor.config import Settings

#: The application's deadline on every Redis wait (REDIS_TIMEOUT_S, default 2 s).
DEFAULT_REDIS_TIMEOUT_S = Settings(_env_file=None).redis_timeout_s


async def test_redis_down_gives_a_clear_503_within_the_redis_timeout(
    emulator: Emulator, walletdoctor: ServerFactory, down_redis_url: str
) -> None:
    """Redis refusing connections, or accepting them and never answering: the default settings."""
    wallet = emulator.synthetic("redis-down", 10)
    base = await walletdoctor(redis_url=down_redis_url)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        started = time.monotonic()
        response = await client.get(f"/v4/wallet/{wallet}/stream")
        refused_after = time.monotonic() - started
        started = time.monotonic()
        ready = await client.get("/ready")
        ready_after = time.monotonic() - started
        health = await client.get("/health")
    print(f"measured: 503 after {refused_after:.3f} s, /ready after {ready_after:.3f} s")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json() == {
        "error": "rate limit check unavailable: shared state store unreachable",
        "code": "UPSTREAM_UNAVAILABLE",
        "retryable": True,
        "details": {},
    }
    assert refused_after < DEFAULT_REDIS_TIMEOUT_S + 1.0
    assert ready.status_code == 503 and ready.json()["redis"]["state"] == "down"
    assert ready_after < 1.5
    assert health.status_code == 200 and health.json()["dependencies"]["redis"]["state"] == "down"


class RedisProcess:
    """A redis-server of one test alone, which the test stops and starts again on the same port."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed (make test installs it)"
        self._command = [binary, "--port", str(free_port()), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)]
        self.url = f"redis://127.0.0.1:{self._command[2]}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", int(self._command[2])), timeout=0.2):
                    return
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    process = RedisProcess(tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def test_requests_work_again_when_redis_comes_back_without_a_restart(
    emulator: Emulator, walletdoctor: ServerFactory, own_redis: RedisProcess
) -> None:
    wallet = emulator.synthetic("redis-back", 10)
    base = await walletdoctor(redis_url=own_redis.url)
    stream = f"/v4/wallet/{wallet}/stream"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        assert (await client.get(stream)).status_code == 200

        own_redis.stop()
        assert (await client.get(stream)).status_code == 503
        assert (await client.get("/ready")).status_code == 503

        own_redis.start()
        deadline = time.monotonic() + 10
        while (response := await client.get(stream)).status_code != 200:
            assert response.status_code == 503 and time.monotonic() < deadline, "no recovery"
            await asyncio.sleep(0.2)
        assert (await client.get("/ready")).status_code == 200


def _clients_of(url: str) -> int:
    """Connections Redis has open, the one asking included."""
    with redis.Redis.from_url(url) as client:
        return len(client.client_list())


async def test_the_pool_is_opened_lazily_and_closed_by_the_cleanup_context(emulator: Emulator, redis_url: str) -> None:
    baseline = _clients_of(redis_url)
    settings = Settings(_env_file=None, redis_url=redis_url)  # type: ignore[arg-type]
    upstream = UpstreamEndpoints(api_url=emulator.url, rpc_url=emulator.url, api_key="test-key", embedded=True)
    server = TestServer(create_app(settings, upstream=upstream))
    await server.start_server()
    try:
        assert _clients_of(redis_url) == baseline, "no connection before the first request"
        wallet = emulator.synthetic("redis-pool", 10)
        async with httpx.AsyncClient(timeout=30) as client:
            responses = await asyncio.gather(
                *(client.get(str(server.make_url(f"/v4/wallet/{wallet}/stream"))) for _ in range(5))
            )
        assert [r.status_code for r in responses] == [200] * 5
        assert _clients_of(redis_url) > baseline
    finally:
        await server.close()
    assert _clients_of(redis_url) == baseline, "the application closed its pool"
