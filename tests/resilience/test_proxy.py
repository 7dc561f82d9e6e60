"""The fault-injecting proxy itself, over loopback against a tiny echo server and an HTTP server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.resilience.proxy import SLOW_LINK, FaultProxy, LinkShape

SOURCE_BYTES = 100_000


@pytest.fixture
async def echo() -> AsyncIterator[tuple[str, int]]:
    """A TCP server that echoes what it gets; a first line ``source`` makes it send SOURCE_BYTES instead."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(4096):
                if data == b"source\n":
                    writer.write(b"x" * SOURCE_BYTES)
                else:
                    writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    async with server:
        yield host, port


@pytest.fixture
async def proxy(echo: tuple[str, int]) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(*echo, seed=11) as running:
        yield running


async def connect(proxy: FaultProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(proxy.host, proxy.port)


async def read_until_closed(reader: asyncio.StreamReader) -> tuple[bytes, BaseException | None]:
    received = b""
    try:
        async with asyncio.timeout(10):
            while data := await reader.read(65536):
                received += data
    except (ConnectionError, OSError) as exc:
        return received, exc
    return received, None


async def test_forwards_both_ways_and_counts(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    payload = bytes(range(256)) * 40
    writer.write(payload)
    await writer.drain()
    assert await reader.readexactly(len(payload)) == payload
    writer.close()
    await writer.wait_closed()
    assert proxy.counters.accepted == 1
    assert proxy.counters.bytes_up == proxy.counters.bytes_down == len(payload)
    assert proxy.counters.reset == proxy.counters.cut == 0


async def test_http_goes_through(aiohttp_server: Any) -> None:
    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"y" * 1000)
        return response

    app = web.Application()
    app.router.add_get("/bytes", stream)
    server = await aiohttp_server(app)
    async with FaultProxy(server.host, server.port) as http_proxy, aiohttp.ClientSession() as session:
        async with session.get(f"{http_proxy.url}/bytes") as response:
            assert response.status == 200
            assert await response.read() == b"y" * 10_000
        assert http_proxy.counters.accepted == 1 and http_proxy.counters.bytes_down > 10_000


async def test_slow_link_adds_latency_and_limits_bandwidth(proxy: FaultProxy) -> None:
    """The acceptance point names the link: about 400 kbit/s and 300 ms, both directions."""
    proxy.shape(SLOW_LINK)
    reader, writer = await connect(proxy)
    started = time.monotonic()
    writer.write(b"p")
    await writer.drain()
    await reader.readexactly(1)
    round_trip = time.monotonic() - started
    assert 0.6 <= round_trip < 1.5, "300 ms each way"

    started = time.monotonic()
    writer.write(b"source\n")
    await writer.drain()
    await reader.readexactly(SOURCE_BYTES)
    elapsed = time.monotonic() - started
    # 100 kB at 400 kbit/s is 2 s on the way back, plus 300 ms each way.
    expected = SOURCE_BYTES * 8 / SLOW_LINK.bandwidth_bps + 2 * SLOW_LINK.latency_s
    assert expected * 0.95 <= elapsed < expected * 1.5
    writer.close()


async def test_the_shape_can_be_lifted_mid_connection(proxy: FaultProxy) -> None:
    proxy.shape(LinkShape(bandwidth_bps=8_000_000, latency_s=0.2))
    reader, writer = await connect(proxy)
    writer.write(b"a")
    started = time.monotonic()
    await reader.readexactly(1)
    assert time.monotonic() - started >= 0.4
    proxy.shape(None)
    writer.write(b"b")
    started = time.monotonic()
    await reader.readexactly(1)
    assert time.monotonic() - started < 0.2
    writer.close()


async def test_stall_holds_data_without_closing_then_delivers_it(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    proxy.stall()
    writer.write(b"held")
    await writer.drain()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await reader.read(10)
    assert not reader.at_eof()
    late_reader, late_writer = await connect(proxy)  # accepted while stalled, and stalled too
    late_writer.write(b"late")
    proxy.unstall()
    assert await reader.readexactly(4) == b"held"
    assert await late_reader.readexactly(4) == b"late"
    assert proxy.counters.accepted == 2
    writer.close()
    late_writer.close()


async def test_a_chosen_connection_is_reset_after_its_bytes(proxy: FaultProxy) -> None:
    proxy.reset_share(1.0, after_bytes=(10_000, 10_000))
    reader, writer = await connect(proxy)
    writer.write(b"source\n")
    received, error = await read_until_closed(reader)
    assert isinstance(error, ConnectionResetError), "an RST, not an orderly close"
    assert len(received) <= 10_000
    assert proxy.counters.reset == 1 and proxy.counters.bytes_down == 10_000
    assert proxy.open_connections == 0


async def test_the_reset_choice_is_reproducible_from_the_seed(echo: tuple[str, int]) -> None:
    async def resets(seed: int) -> list[int]:
        chosen = []
        async with FaultProxy(*echo, seed=seed) as faulty:
            faulty.reset_share(0.1, after_bytes=(1, 50_000))
            for number in range(40):
                reader, writer = await connect(faulty)
                writer.write(b"source\n")
                _, error = await read_until_closed_or_complete(reader)
                if error is not None:
                    chosen.append(number)
                writer.close()
            assert faulty.counters.reset == len(chosen)
        return chosen

    first = await resets(3)
    assert first == await resets(3)
    assert 0 < len(first) < 40


async def read_until_closed_or_complete(reader: asyncio.StreamReader) -> tuple[bytes, BaseException | None]:
    received = b""
    try:
        async with asyncio.timeout(10):
            while len(received) < SOURCE_BYTES and (data := await reader.read(65536)):
                received += data
    except (ConnectionError, OSError) as exc:
        return received, exc
    return received, None if len(received) == SOURCE_BYTES else EOFError()


async def test_handoff_cuts_every_connection_and_refuses_new_ones_for_a_while(proxy: FaultProxy) -> None:
    readers = [await connect(proxy) for _ in range(3)]
    handoff = asyncio.create_task(proxy.handoff(0.5))
    for reader, _ in readers:
        _, error = await read_until_closed(reader)
        assert isinstance(error, ConnectionResetError)
    with pytest.raises(ConnectionRefusedError):
        await connect(proxy)
    await handoff
    reader, writer = await connect(proxy)
    writer.write(b"back")
    assert await reader.readexactly(4) == b"back"
    assert proxy.counters.cut == 3 and proxy.counters.accepted == 4
    writer.close()


def test_invalid_faults_are_refused() -> None:
    faulty = FaultProxy("127.0.0.1", 9)
    with pytest.raises(ValueError):
        faulty.reset_share(1.5)
    with pytest.raises(ValueError):
        faulty.reset_share(0.1, after_bytes=(0, 10))
    with pytest.raises(ValueError):
        LinkShape(bandwidth_bps=0, latency_s=0.1)
