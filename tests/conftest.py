"""Fixtures shared by the whole suite: the real data, an in-process Helius emulator,
a WalletDoctor server in front of it, and an independent SSE client."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import base58
import httpx
import orjson
import pytest
from aiohttp import web
from httpx_sse import aconnect_sse

from walletdoctor.app import create_app
from walletdoctor.appkeys import UpstreamEndpoints
from walletdoctor.config import Settings
from walletdoctor.helius.emulator.app import EMULATOR_SETTINGS, EMULATOR_STATS
from walletdoctor.helius.emulator.server import start_emulator
from walletdoctor.helius.emulator.settings import EmulatorSettings, Endpoint
from walletdoctor.helius.emulator.stats import EmulatorStats

REAL_WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"

_SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout: the real wallet's recorded Helius
    pages and activity export (read-only ground truth for the tests)."""
    if not _SHARED_DATA.is_dir():
        pytest.fail(f"real wallet data not found at {_SHARED_DATA}; the tests need ../shared beside the checkout")
    return _SHARED_DATA


def wallet_address(label: str) -> str:
    """A valid, deterministic base58 address for a synthetic test wallet."""
    return base58.b58encode(hashlib.sha256(label.encode()).digest()).decode()


@dataclass
class Emulator:
    """A running in-process Helius emulator."""

    url: str
    app: web.Application

    @property
    def settings(self) -> EmulatorSettings:
        return self.app[EMULATOR_SETTINGS]

    @property
    def stats(self) -> EmulatorStats:
        return self.app[EMULATOR_STATS]

    @property
    def parse_requests(self) -> int:
        """``POST /v0/transactions`` requests answered so far."""
        return self.stats.endpoints[Endpoint.ENHANCED_PARSE].requests

    def synthetic(self, label: str, size: int) -> str:
        """Serve a synthetic wallet of ``size`` transactions; returns its address."""
        address = wallet_address(label)
        self.settings.update({"synthetic_wallets": {**self.settings.synthetic_wallets, address: size}})
        return address


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """An emulator with no latency, no rate limit and no faults (tests turn them on)."""
    async with start_emulator(EmulatorSettings.instant()) as (url, app):
        yield Emulator(url, app)


ServerFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def walletdoctor(emulator: Emulator, aiohttp_server: Any) -> ServerFactory:
    """Start a WalletDoctor server over ``emulator``; keyword arguments override settings.

    Returns the server's base URL. Runs with ``handler_cancellation=True`` as
    ``walletdoctor serve`` does.
    """

    async def start(**overrides: Any) -> str:
        values: dict[str, Any] = {
            "heartbeat_s": 10.0,
            "helius_backoff_initial_s": 0.01,
            "helius_backoff_max_s": 0.05,
            "helius_timeout_s": 5.0,
        }
        values.update(overrides)
        settings = Settings(_env_file=None, **values)
        upstream = UpstreamEndpoints(api_url=emulator.url, rpc_url=emulator.url, api_key="test-key", embedded=True)
        server = await aiohttp_server(create_app(settings, upstream=upstream))  # test servers cancel handlers on disconnect
        return str(server.make_url("")).rstrip("/")

    return start


@dataclass
class StreamRecord:
    """What an SSE client saw of one stream."""

    status: int
    headers: httpx.Headers
    events: list[Any]  # httpx_sse.ServerSentEvent

    def named(self, name: str) -> list[Any]:
        return [e for e in self.events if e.event == name]

    def data(self, name: str) -> list[Any]:
        return [orjson.loads(e.data) for e in self.named(name)]

    def trades(self) -> list[dict[str, Any]]:
        return [t for batch in self.data("trades") for t in batch["trades"]]

    def named_trades(self) -> list[dict[str, Any]]:
        """The trades with each token the first batch gave by mint named as the
        ``complete`` event's summary names it (what a client does). The first batch
        waits for no symbol look-up (docs/stream-contract.md), so two streams of one
        wallet may differ there, and should differ nowhere else."""
        return name_trades(self.trades(), self.data("complete")[-1]["summary"])

    @property
    def last(self) -> Any:
        return self.events[-1]


def name_trades(trades: list[dict[str, Any]], summary: dict[str, Any]) -> list[dict[str, Any]]:
    """``trades`` (wire objects) with tokens given by mint renamed by ``summary["tokens"]``."""
    symbols = {token["mint"]: token["symbol"] for token in summary["tokens"] if token["symbol"]}
    named = []
    for trade in trades:
        trade = dict(trade)
        for side in ("token_in", "token_out"):
            if trade[side] == trade[f"{side}_mint"]:
                trade[side] = symbols.get(trade[side], trade[side])
        named.append(trade)
    return named


async def read_stream(url: str, *, timeout: float = 60.0, headers: dict[str, str] | None = None) -> StreamRecord:
    """Read a whole stream with httpx-sse (an SSE parser independent of the server's code)."""
    async with httpx.AsyncClient(timeout=timeout) as client:
        async with aconnect_sse(client, "GET", url, headers=headers or {}) as source:
            events = [event async for event in source.aiter_sse()]
            return StreamRecord(source.response.status_code, source.response.headers, events)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``redis-server`` on a free loopback port for the whole session; yields its URL.

    Started by the tests themselves (no persistence); ``.ci/run`` installs the
    binary where it is missing.
    """
    import shutil
    import socket
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (make test installs it)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("redis-server did not start")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def empty_redis(url: str) -> None:
    """Delete every key of the Redis at ``url``."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        await client.flushall()
    finally:
        await client.aclose()


@pytest.fixture
async def redis_url(redis_server: str) -> AsyncIterator[str]:
    """The session's Redis, emptied before each test."""
    await empty_redis(redis_server)
    yield redis_server
