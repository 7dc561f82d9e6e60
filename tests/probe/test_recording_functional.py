"""Recording streams over loopback HTTP: a real WalletDoctor stream, and servers that misbehave."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from aiohttp import web

from tests.conftest import Emulator, ServerFactory, free_port
from walletdoctor.probe.recording import StreamEnd, record_stream


async def _tiny_server(aiohttp_server: Any, handler: Any) -> str:
    app = web.Application()
    app.router.add_get("/s", handler)
    server = await aiohttp_server(app)
    return str(server.make_url("/s"))


async def _sse(request: web.Request, frames: list[bytes], *, hang_s: float = 0.0) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for frame in frames:
        await response.write(frame)
    if hang_s:
        await asyncio.sleep(hang_s)
    return response


async def test_a_whole_walletdoctor_stream(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("probe-recording", 300)
    base = await walletdoctor()
    seen: list[str] = []
    async with httpx.AsyncClient() as client:
        recording = await record_stream(
            client, f"{base}/v4/wallet/{wallet}/stream?batch_size=50", on_event=lambda rec, a: seen.append(a.event)
        )
    assert recording.end is StreamEnd.COMPLETE and recording.status == 200
    assert recording.content_type.startswith("text/event-stream")
    assert seen == [a.event for a in recording.arrivals]
    assert seen[0] == "connected" and seen[-1] == "complete"
    assert recording.final_data is not None and recording.trades == recording.final_data["trades_found"] > 0
    assert recording.arrivals[0].server_timestamp is not None
    assert recording.stream_id is not None and recording.arrivals[0].event_id.startswith(recording.stream_id + ":")
    assert recording.headers_s is not None and 0 < recording.headers_s <= recording.arrivals[0].at_s
    times = [a.at_s for a in recording.arrivals]
    assert times == sorted(times) and recording.duration_s >= times[-1]


async def test_a_refusal_keeps_the_status_and_the_error_body(walletdoctor: ServerFactory) -> None:
    base = await walletdoctor()
    async with httpx.AsyncClient() as client:
        recording = await record_stream(client, f"{base}/v4/wallet/not-a-wallet/stream")
    assert recording.end is StreamEnd.REFUSED and recording.status == 400
    assert "INVALID_ADDRESS" in recording.detail and recording.arrivals == []


async def test_a_body_that_is_not_an_event_stream(aiohttp_server: Any) -> None:
    async def json_body(request: web.Request) -> web.Response:
        return web.json_response({"hello": "world"})

    url = await _tiny_server(aiohttp_server, json_body)
    async with httpx.AsyncClient() as client:
        recording = await record_stream(client, url)
    assert recording.end is StreamEnd.REFUSED and recording.status == 200
    assert "text/event-stream" in recording.detail


async def test_a_stream_cut_before_its_final_event(aiohttp_server: Any) -> None:
    """Also: a comment and a blank line after an id dispatch no event (WHATWG), though httpx-sse yields one."""

    async def cut(request: web.Request) -> web.StreamResponse:
        return await _sse(request, [b'id: s:1\nevent: connected\ndata: {"timestamp": 1.5}\n\n', b": ping\r\n\r\n"])

    url = await _tiny_server(aiohttp_server, cut)
    async with httpx.AsyncClient() as client:
        recording = await record_stream(client, url)
    assert recording.end is StreamEnd.CUT
    assert [a.event for a in recording.arrivals] == ["connected"]
    assert recording.arrivals[0].server_timestamp == 1.5 and recording.stream_id == "s"


async def test_a_stalled_stream_hits_the_idle_timeout(aiohttp_server: Any) -> None:
    async def stall(request: web.Request) -> web.StreamResponse:
        return await _sse(request, [b"event: connected\ndata: {}\n\n"], hang_s=5.0)

    url = await _tiny_server(aiohttp_server, stall)
    async with httpx.AsyncClient() as client:
        recording = await record_stream(client, url, idle_timeout_s=0.3)
    assert recording.end is StreamEnd.IDLE_TIMEOUT and len(recording.arrivals) == 1
    assert recording.duration_s < 3


async def test_the_deadline_ends_a_long_stream(aiohttp_server: Any) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        response = await _sse(request, [])
        for _ in range(50):
            await response.write(b"event: heartbeat\ndata: {}\n\n")
            await asyncio.sleep(0.05)
        return response

    url = await _tiny_server(aiohttp_server, slow)
    async with httpx.AsyncClient() as client:
        recording = await record_stream(client, url, deadline_s=0.4)
    assert recording.end is StreamEnd.DEADLINE and 2 <= len(recording.arrivals) < 50


async def test_nobody_listening() -> None:
    async with httpx.AsyncClient() as client:
        recording = await record_stream(client, f"http://127.0.0.1:{free_port()}/s", idle_timeout_s=2)
    assert recording.end is StreamEnd.CONNECTION_FAILED and recording.status is None
    assert "ConnectError" in recording.detail
